"""A satellite's loop: the same hearing as the one-process loop (hearing.Ears: wake word, VAD, listener),
but each command leaves for the hub instead of being recognised here, and the hub's answer ends the turn.

Synchronous and driven by frames; the link to the hub (adapters/wyoming_link.HubLink, or a fake) sends
without waiting for answers, which arrive on its `answers` queue and are read between frames. Times are
audio milliseconds. Every command ends in exactly one report: the hub's answer, "not sent" (no hub),
"lost" (the hub went away before answering) or "no answer" after answer_timeout_ms; a stand-down (another
satellite heard it better) ends it quietly.
"""

from __future__ import annotations

import logging
import queue
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol

from .hearing import Ears
from .listener import State
from .messages import AudioFrame, EndReason, HubAnswer, SpeechPaused, Utterance, WakeDetected

log = logging.getLogger(__name__)
ANSWER_TIMEOUT_MS = 20000


class HubSide(Protocol):
    answers: queue.Queue

    def send_wake(self, wake: WakeDetected) -> bool: ...
    def send_pause(self, paused: SpeechPaused) -> bool: ...
    def send_command(self, utterance: Utterance) -> bool: ...


@dataclass(frozen=True)
class Report:
    """One line for the person in the room: what became of a command (or of the hub)."""

    kind: str  # handled | not_handled | failed
    text: str
    follow_up: bool = False


class SatelliteLoop:
    def __init__(self, ears: Ears, hub: HubSide, report: Callable[[Report], None] = lambda r: None,
                 on_wake: Callable[[WakeDetected], None] = lambda w: None,
                 answer_timeout_ms: int = ANSWER_TIMEOUT_MS):
        self.ears = ears
        self.hub = hub
        self.report = report
        self.on_wake = on_wake
        self.answer_timeout_ms = answer_timeout_ms
        self._sent_at_ms: int | None = None  # a command is with the hub since then
        self._following = False  # the listener is recording a follow-up (no wake word)
        self.now_ms = 0  # the audio time of the last frame heard
        self.commands = 0  # commands sent to the hub

    @property
    def busy(self) -> bool:
        """A command is being recorded or is waiting for its answer, or a follow-up window is open."""
        return self.ears.listener.state is not State.IDLE

    def run(self, frames: Iterable[AudioFrame]) -> None:
        for frame in frames:
            self.step(frame)

    def step(self, frame: AudioFrame) -> None:
        self.now_ms = frame.start_ms
        self._read_answers()
        if self._sent_at_ms is not None and frame.start_ms - self._sent_at_ms > self.answer_timeout_ms:
            self._end(Report("failed", "the hub did not answer; the command may not have been carried out"))
        woke, heard = self.ears.hear(frame)
        if woke is not None:
            self.on_wake(woke)
            self._following = False
            if not self.hub.send_wake(woke):
                log.info("wake at %d ms not announced: no hub", woke.time_ms)
        if isinstance(heard, SpeechPaused):
            self.hub.send_pause(heard)  # the hub may decode during the hangover; the command follows anyway
        elif isinstance(heard, Utterance):
            self._command(heard)

    def _command(self, utterance: Utterance) -> None:
        following, self._following = self._following, False
        if utterance.ended_by is EndReason.NO_SPEECH:
            self.ears.listener.resume(utterance.end_ms)  # nobody spoke: after a wake, or in a follow-up window
            return
        if not self.hub.send_command(utterance):
            self._end(Report("failed", "not sent: the hub cannot be reached"))
            return
        self.commands += 1
        self._sent_at_ms = utterance.end_ms
        log.debug("command of %d ms sent%s", utterance.end_ms - utterance.start_ms, " (follow-up)" if following else "")

    def _read_answers(self) -> None:
        while True:
            try:
                answer: HubAnswer = self.hub.answers.get_nowait()
            except queue.Empty:
                return
            match answer.kind:
                case "stand_down":
                    log.info("standing down: %s", answer.text)
                    self._end(None)
                case "ignored":
                    self._end(None)
                case "lost":
                    self._end(Report("failed", answer.text))
                case "handled" | "not_handled":
                    self._end(Report(answer.kind, answer.text), answer.follow_up_ms)

    def _end(self, report: Report | None, follow_up_ms: int = 0) -> None:
        """The turn is over: report it, then listen for the wake word again, or for a follow-up."""
        self._sent_at_ms = None
        listener = self.ears.listener
        if report is not None:
            self.report(Report(report.kind, report.text, follow_up_ms > 0))
        if follow_up_ms > 0:
            listener.follow_up(self.now_ms, follow_up_ms)
            self._following = True
        else:
            listener.resume(self.now_ms)
