"""The listener state machine: idle -> recording -> processing -> idle, timed in audio milliseconds.

Pure logic: frames, wake detections and a VAD go in, Utterances come out. No clocks, no threads.
"""

from __future__ import annotations

import logging
from collections import deque
from enum import Enum
from typing import Protocol

from .config import ListenerSettings
from .messages import FRAME_MS, AudioFrame, EndReason, Utterance, WakeDetected

log = logging.getLogger(__name__)
MIN_SPEECH_FRAMES = 2  # a single noisy frame is not the start of a command


class Vad(Protocol):
    def reset(self) -> None: ...

    def probability(self, frame: AudioFrame) -> float: ...


class State(str, Enum):
    IDLE = "idle"
    RECORDING = "recording"
    PROCESSING = "processing"


class Listener:
    def __init__(self, settings: ListenerSettings, vad: Vad):
        self.settings = settings
        self.vad = vad
        self.state = State.IDLE
        self._preroll: deque[AudioFrame] = deque(maxlen=settings.preroll_ms // FRAME_MS + MIN_SPEECH_FRAMES)
        self._reset_recording(0)

    def _reset_recording(self, start_ms: int) -> None:
        self._record_from_ms = start_ms  # nothing before this belongs to the command (the wake word)
        self._frames: list[AudioFrame] = []
        self._speech_frames = 0
        self._speech_start_ms: int | None = None
        self._last_speech_end_ms: int | None = None

    def _transition(self, new: State, at_ms: int) -> None:
        log.debug("listener %s -> %s at %d ms", self.state.value, new.value, at_ms)
        self.state = new

    # ------------------------------------------------------------------ inputs

    def on_wake(self, wake: WakeDetected) -> None:
        if self.state is not State.IDLE:
            return
        self._reset_recording(wake.time_ms + self.settings.wake_skip_ms)
        self._preroll.clear()
        self.vad.reset()
        self._transition(State.RECORDING, wake.time_ms)

    def feed(self, frame: AudioFrame) -> Utterance | None:
        """Give one frame; returns the finished Utterance when recording ends."""
        if self.state is not State.RECORDING:
            return None
        if frame.end_ms <= self._record_from_ms:
            return None  # still the tail of the wake word
        s = self.settings
        is_speech = self.vad.probability(frame) >= s.vad_threshold
        if self._speech_start_ms is None:
            self._preroll.append(frame)
            if is_speech:
                self._speech_frames += 1
                if self._speech_frames >= MIN_SPEECH_FRAMES:
                    self._frames = list(self._preroll)
                    self._speech_start_ms = frame.start_ms - (MIN_SPEECH_FRAMES - 1) * FRAME_MS
                    self._last_speech_end_ms = frame.end_ms
            else:
                self._speech_frames = 0
            if self._speech_start_ms is None and frame.end_ms - self._record_from_ms >= s.no_speech_timeout_ms:
                return self._finish(EndReason.NO_SPEECH, frame.end_ms)
            return None
        self._frames.append(frame)
        if is_speech:
            self._last_speech_end_ms = frame.end_ms
        if frame.end_ms - self._last_speech_end_ms >= s.silence_hangover_ms:
            return self._finish(EndReason.SILENCE, frame.end_ms)
        if frame.end_ms - self._frames[0].start_ms >= s.max_command_ms:
            return self._finish(EndReason.MAX_LENGTH, frame.end_ms)
        return None

    def end_of_audio(self, at_ms: int) -> Utterance | None:
        """The source ran out: close a recording in progress."""
        if self.state is not State.RECORDING:
            return None
        if self._speech_start_ms is None:
            return self._finish(EndReason.NO_SPEECH, at_ms)
        return self._finish(EndReason.END_OF_AUDIO, at_ms)

    def resume(self, at_ms: int) -> None:
        """Processing of the last utterance is over; listen for the wake word again."""
        self._transition(State.IDLE, at_ms)
        self._preroll.clear()

    # ------------------------------------------------------------------ output

    def _finish(self, why: EndReason, at_ms: int) -> Utterance:
        frames = self._frames if why is not EndReason.NO_SPEECH else []
        start = frames[0].start_ms if frames else self._record_from_ms
        utterance = Utterance(b"".join(f.pcm for f in frames), start, at_ms, why, self._last_speech_end_ms)
        self._reset_recording(at_ms)
        self._transition(State.PROCESSING, at_ms)
        return utterance
