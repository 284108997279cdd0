"""The listener state machine: idle -> recording -> processing -> idle, timed in audio milliseconds.

Pure logic: frames (with the wake word, when it was detected in one) go in through hear(), Utterances and
SpeechPaused events come out; a VAD is asked about each frame. No clocks, no threads.
"""

from __future__ import annotations

import logging
from collections import deque
from enum import Enum

from .config import ListenerSettings
from .interfaces import Vad
from .messages import FRAME_MS, SAMPLE_RATE, AudioFrame, EndReason, SpeechPaused, Utterance, WakeDetected
from .wake import PAUSE_MS, wake_word_end

log = logging.getLogger(__name__)
MIN_SPEECH_FRAMES = 2  # a single noisy frame is not the start of a command
HISTORY_MS = 1200  # audio kept while idle: the wake word is detected a little after it ends


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
        self._history: deque[AudioFrame] = deque(maxlen=HISTORY_MS // FRAME_MS)
        # After a detection: the audio heard so far, held until wake_tail_ms past the onset shows where the
        # wake word ended; then it is recorded from there, in order.
        self._pending: list[AudioFrame] | None = None
        self._onset_ms = 0
        self._reset_recording(0)
        self.following = False  # recording a follow-up (no wake word): a wake word may still start a command

    def _reset_recording(self, start_ms: int, count_from_ms: int | None = None,
                         no_speech_ms: int | None = None) -> None:
        # how long to wait for the command to begin: after the wake word, or within a follow-up window
        self._no_speech_ms = self.settings.no_speech_timeout_ms if no_speech_ms is None else no_speech_ms
        self._record_from_ms = start_ms  # nothing before this can belong to the command
        # Frames before this may be the wake word's tail or the start of a one-breath command: they are
        # kept as pre-roll but cannot start a command on their own.
        self._count_from_ms = start_ms if count_from_ms is None else count_from_ms
        self._frames: list[AudioFrame] = []
        self._speech_frames = 0
        self._speech_start_ms: int | None = None
        self._last_speech_end_ms: int | None = None
        self._offered: tuple[int | None, int] = (None, 0)  # (speech end, the offer point it last reached)
        self._incomplete_at_ms: int | None = None  # the speech end after which no complete command was heard

    def _transition(self, new: State, at_ms: int) -> None:
        log.debug("listener %s -> %s at %d ms", self.state.value, new.value, at_ms)
        self.state = new

    # ------------------------------------------------------------------ input: one frame at a time

    def hear(self, frame: AudioFrame, wake: WakeDetected | None = None) -> Utterance | SpeechPaused | None:
        """Give one frame, and the wake word when it was detected in this frame (only heeded while idle).
        Returns the finished Utterance when recording ends, and a SpeechPaused when a pause reaches
        early_decode_noisy_ms and again at early_decode_ms (the command may be over: decoding can start)."""
        match self.state:
            case State.IDLE:
                return self._idle(frame, wake)
            case State.RECORDING:
                return self._recording(frame)
        return None

    def extend_pause(self, paused: SpeechPaused) -> None:
        """The early decode of this pause heard no sentence at all: perhaps the command's end is still to
        come. Let the pause run to incomplete_hangover_ms before ending the recording; new speech starts a
        new pause as usual. (incomplete_waits_longer says whether that is longer than the usual hangover.)"""
        if (self.state is State.RECORDING and paused.speech_end_ms == self._last_speech_end_ms
                and self.incomplete_waits_longer):
            self._incomplete_at_ms = paused.speech_end_ms

    @property
    def incomplete_waits_longer(self) -> bool:
        return self.settings.incomplete_hangover_ms > self.settings.silence_hangover_ms

    def end_of_audio(self, at_ms: int) -> Utterance | None:
        """The source ran out: close a recording in progress."""
        if self.state is not State.RECORDING:
            return None
        if self._pending is not None:
            event = self._settle(force=True)
            if isinstance(event, Utterance):
                return event
        if self._speech_start_ms is None:
            return self._finish(EndReason.NO_SPEECH, at_ms)
        return self._finish(EndReason.END_OF_AUDIO, at_ms)

    def resume(self, at_ms: int) -> None:
        """Processing of the last utterance is over (or a follow-up gave way to the wake word); listen for
        the wake word again."""
        self.following = False
        self._transition(State.IDLE, at_ms)
        self._preroll.clear()
        self._history.clear()
        self._pending = None

    def follow_up(self, at_ms: int, window_ms: int) -> None:
        """A turn just ended: record what is said within window_ms without waiting for the wake word (a
        continuation such as "and the bedroom too"); silence for the whole window ends it as NO_SPEECH."""
        self._reset_recording(at_ms, no_speech_ms=window_ms)
        self._preroll.clear()
        self._history.clear()
        self.vad.reset()
        self._transition(State.RECORDING, at_ms)
        self.following = True

    # ------------------------------------------------------------------ one handler per state

    def _idle(self, frame: AudioFrame, wake: WakeDetected | None) -> Utterance | None:
        """Keep recent audio: the wake word is detected a little after it ends, and a one-breath command
        may already have begun. On the wake word, what was kept is held until the wake word's end is known."""
        self._history.append(frame)
        if wake is None:
            return None
        self._onset_ms = wake.onset_ms if wake.onset_ms is not None else wake.time_ms
        self._pending, self._history = list(self._history), deque(maxlen=self._history.maxlen)
        self._transition(State.RECORDING, wake.time_ms)
        return self._settle()

    def _settle(self, force: bool = False) -> Utterance | None:
        """Once the audio reaches wake_tail_ms past the onset, and far enough beyond to tell a pause from a
        stop consonant (or the source ends), start the command where the wake word ended and record what
        was held, in order."""
        held = self._pending
        if not force and held[-1].end_ms < self._onset_ms + self.settings.wake_tail_ms + PAUSE_MS:
            return None
        self._pending = None
        s, onset = self.settings, self._onset_ms
        end = wake_word_end(b"".join(f.pcm for f in held), held[0].start_ms, onset, s.lookback_ms, s.wake_tail_ms)
        if end is None:
            # No pause to be seen (one breath, or a noise fills the gaps): the model's first confident frame
            # (median +10 ms after the word's end on the fixtures, up to ~290 ms late) starts the counting;
            # the look-back before it is kept as pre-roll so a one-breath command keeps its first word.
            self._reset_recording(onset - s.lookback_ms, count_from_ms=onset)
        else:
            log.debug("listener: wake word ended at %d ms (first confident frame %d ms)", end, onset)
            self._reset_recording(end)
        self._preroll.clear()
        self.vad.reset()
        for heard in held:
            event = self._recording(heard)
            if isinstance(event, Utterance):
                return event
        return None

    def _recording(self, frame: AudioFrame) -> Utterance | SpeechPaused | None:
        if self._pending is not None:
            self._pending.append(frame)
            return self._settle()
        if frame.end_ms <= self._record_from_ms:
            return None  # still the wake word itself
        if frame.start_ms < self._record_from_ms:
            # The wake word ends inside this frame: only the rest is kept, as pre-roll.
            cut = (self._record_from_ms - frame.start_ms) * SAMPLE_RATE // 1000 * 2
            self._preroll.append(AudioFrame(frame.pcm[cut:], self._record_from_ms))
            return None
        is_speech = self.vad.probability(frame) >= self.settings.vad_threshold
        if self._speech_start_ms is None:
            return self._before_speech(frame, is_speech)
        return self._in_command(frame, is_speech)

    def _before_speech(self, frame: AudioFrame, is_speech: bool) -> Utterance | None:
        self._preroll.append(frame)
        if frame.start_ms < self._count_from_ms:
            return None
        if is_speech:
            self._speech_frames += 1
            if self._speech_frames >= MIN_SPEECH_FRAMES:
                self._frames = list(self._preroll)
                self._speech_start_ms = frame.start_ms - (MIN_SPEECH_FRAMES - 1) * FRAME_MS
                self._last_speech_end_ms = frame.end_ms
        else:
            self._speech_frames = 0
        if self._speech_start_ms is None and frame.end_ms - self._record_from_ms >= self._no_speech_ms:
            return self._finish(EndReason.NO_SPEECH, frame.end_ms)
        return None

    def _in_command(self, frame: AudioFrame, is_speech: bool) -> Utterance | SpeechPaused | None:
        s = self.settings
        self._frames.append(frame)
        if is_speech:
            self._last_speech_end_ms = frame.end_ms
        silent_ms = frame.end_ms - self._last_speech_end_ms
        blip = self._last_speech_end_ms - self._speech_start_ms < s.min_speech_ms
        hangover = s.silence_hangover_ms
        if self._incomplete_at_ms == self._last_speech_end_ms:
            hangover = max(hangover, s.incomplete_hangover_ms)
        if silent_ms >= hangover:
            if not blip:
                return self._finish(EndReason.SILENCE, frame.end_ms)
            # Too short for a command: a knock, a breath, or (in a loud room, where the VAD hears the
            # noise too) the wake word's own tail. Wait on for the command, as if nothing had been heard.
            log.debug("listener: %d ms of speech at %d ms is too short for a command; still waiting",
                      self._last_speech_end_ms - self._speech_start_ms, self._speech_start_ms)
            if frame.end_ms - self._record_from_ms >= self._no_speech_ms:
                return self._finish(EndReason.NO_SPEECH, frame.end_ms)
            self._preroll.clear()
            self._preroll.extend(self._frames)  # the silence just heard is the next command's pre-roll
            self._speech_start_ms = self._last_speech_end_ms = None
            self._offered = (None, 0)
            self._speech_frames, self._frames = 0, []
            return None
        if frame.end_ms - self._frames[0].start_ms >= s.max_command_ms:
            return self._finish(EndReason.MAX_LENGTH, frame.end_ms)
        point = None if blip else self._offer_due(silent_ms)
        if point is not None:
            usual = s.early_decode_ms
            return SpeechPaused(b"".join(f.pcm for f in self._frames), self._frames[0].start_ms, frame.end_ms,
                                self._last_speech_end_ms, noisy_only=usual == 0 or point < usual)
        return None

    def _offer_due(self, silent_ms: int) -> int | None:
        """The early-decode point this pause has just passed and was not yet offered at, if any. The points
        are early_decode_noisy_ms and early_decode_ms (0 = none); each is offered once per pause, and a
        frame that passes both makes one offer."""
        end, done_ms = self._offered
        if end != self._last_speech_end_ms:
            done_ms = 0
        points = [p for p in (self.settings.early_decode_noisy_ms, self.settings.early_decode_ms) if p > done_ms]
        if not points or min(points) > silent_ms:
            return None
        self._offered = (self._last_speech_end_ms, max(p for p in points if p <= silent_ms))
        return self._offered[1]

    # ------------------------------------------------------------------ output

    def _finish(self, why: EndReason, at_ms: int) -> Utterance:
        frames = self._frames if why is not EndReason.NO_SPEECH else []
        start = frames[0].start_ms if frames else self._record_from_ms
        utterance = Utterance(b"".join(f.pcm for f in frames), start, at_ms, why, self._last_speech_end_ms)
        self._reset_recording(at_ms)
        self._transition(State.PROCESSING, at_ms)
        return utterance
