"""One turn of the loop, wired: frames -> wake -> utterance -> transcript -> intents -> MQTT -> outcome.

The pipeline holds no adapter imports: scorer, VAD, recognizer, matcher and dispatcher are handed in.
It reports every stage as an event (a dict, one JSON line each) and returns one Interaction per turn.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from .config import Settings
from .errors import AssistantError
from .interfaces import Dispatch, EventSink, Recognizer, Understand, WakeScorer
from .listener import Listener, State
from .messages import (AudioFrame, EndReason, Intent, Interaction, NotUnderstood, Outcome, SpeechPaused, Transcript,
                       Utterance, WakeDetected)
from .wake import WakePolicy, level_dbfs

log = logging.getLogger(__name__)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


@dataclass
class Pipeline:
    settings: Settings
    scorer: WakeScorer
    policy: WakePolicy
    listener: Listener
    recognizer: Recognizer
    understand: Understand
    dispatch: Dispatch
    on_event: EventSink = field(default=lambda event: None)
    source: str = ""
    on_turn: Callable[[Interaction], None] = field(default=lambda turn: None)
    # (speech_end_ms it was made for, audio ms into the hangover, transcript, decode wall ms)
    _early: tuple[int, int, Transcript, float] | None = field(default=None, init=False, repr=False)
    _decoded_for: int | None = field(default=None, init=False, repr=False)  # the speech end of the last early decode

    def run(self, frames: Iterable[AudioFrame]) -> list[Interaction]:
        """Feed a whole finite source (a WAV); returns the turns it held."""
        return list(self.stream(frames))

    def stream(self, frames: Iterable[AudioFrame]) -> Iterator[Interaction]:
        """Feed a source turn by turn, keeping nothing: the form for a microphone that never ends."""
        wake: WakeDetected | None = None
        last_ms = 0
        for frame in frames:
            last_ms = frame.end_ms
            scores = self.scorer.score(frame)  # always, so the model's audio context stays continuous
            idle = self.listener.state is State.IDLE
            utterance = self.listener.feed(frame)  # while idle this only keeps recent audio
            if isinstance(utterance, SpeechPaused):
                self._on_pause(utterance)
                continue
            if idle:
                wake = self.policy.feed(scores, level_dbfs(frame.pcm))
                if wake is None:
                    continue
                self._emit("wake", wake_word=wake.wake_word, time_s=wake.time_ms / 1000, score=round(wake.score, 3))
                utterance = self.listener.on_wake(wake)
            if utterance is not None:
                turn = self._turn(wake, utterance)
                self.on_turn(turn)
                self.listener.resume(frame.end_ms)
                yield turn
        utterance = self.listener.end_of_audio(last_ms)
        if utterance is not None:
            turn = self._turn(wake, utterance)
            self.on_turn(turn)
            self.listener.resume(last_ms)
            yield turn

    # ------------------------------------------------------------------ one turn

    def _turn(self, wake: WakeDetected | None, utterance: Utterance) -> Interaction:
        self._emit("utterance", start_s=utterance.start_ms / 1000, end_s=utterance.end_ms / 1000,
                   ended_by=utterance.ended_by.value)
        if utterance.ended_by is EndReason.NO_SPEECH:
            self._emit("result", status="timeout", detail="nobody spoke after the wake word")
            return Interaction(wake, utterance, None, not_understood=NotUnderstood("", "no speech"))
        timings: dict[str, float] = {}
        if utterance.speech_end_ms is not None:
            timings["hangover_ms"] = float(utterance.end_ms - utterance.speech_end_ms)
        early, self._early = self._early, None
        self._decoded_for = None
        t0 = time.perf_counter()
        if early is not None and utterance.ended_by is EndReason.SILENCE and early[0] == utterance.speech_end_ms \
                and not (early[2].rejected and early[2].text):
            # Decoded while the hangover ran; live, that overlapped the silence we were waiting out. A decode
            # that heard no command is done again on the whole recording: the early one may have been cut
            # short of what a recognizer needs (Whisper wrote "200700 kelvin" 160 ms into the silence, and
            # "2,700 kelvin" at the end). An empty one stands: the listener already waited for more.
            _, early_into_ms, transcript, decode_ms = early
            timings["transcribe_ms"] = decode_ms
            timings["decode_started_into_hangover_ms"] = float(early_into_ms)
        else:
            early_into_ms = None
            try:
                transcript = self.recognizer.transcribe(utterance.pcm)
            except AssistantError as exc:
                log.error("speech recognition failed: %s", exc)
                self._emit("result", status="error", detail=str(exc))
                return Interaction(wake, utterance, None, not_understood=NotUnderstood("", str(exc)))
            timings["transcribe_ms"] = _ms(time.perf_counter() - t0)
        t1 = time.perf_counter()
        extra = {"why": transcript.why, "engines": [
            {"engine": p.engine, "text": p.text, "confidence": round(p.confidence, 3), "rejected": p.rejected}
            for p in transcript.parts]} if transcript.parts else {}
        self._emit("transcript", text=transcript.text, confidence=round(transcript.confidence, 3),
                   engine=transcript.engine, rejected=transcript.rejected, **extra)
        if transcript.rejected or not transcript.text:
            result: tuple[Intent, ...] | NotUnderstood = NotUnderstood(
                transcript.text, transcript.why or "speech not recognised as a command")
        else:
            result = self.understand(transcript.text)
        t2 = time.perf_counter()
        timings["intent_ms"] = _ms(t2 - t1)
        if isinstance(result, NotUnderstood):
            self._emit("intents", understood=False, intents=[], reason=result.reason)
            self._emit("result", status="not_understood", detail=result.reason, timings_ms=timings)
            return Interaction(wake, utterance, transcript, not_understood=result, timings_ms=timings)
        intents = result
        self._emit("intents", understood=True, intents=[i.to_json() for i in intents])
        try:
            dispatched = self.dispatch(intents)
        except AssistantError as exc:  # e.g. a slot naming nothing in the registry, or a dead broker
            log.error("could not carry out %s: %s", [i.name for i in intents], exc)
            self._emit("result", status="failed", detail=str(exc), timings_ms=timings)
            return Interaction(wake, utterance, transcript, intents, NotUnderstood(transcript.text, str(exc)),
                               timings_ms=timings)
        timings["publish_ms"] = round(dispatched.publish_ms, 1)
        timings["echo_ms"] = round(dispatched.echo_ms, 1)
        hangover = timings.get("hangover_ms", 0.0)
        if early_into_ms is None:  # decoding starts when the hangover has run out
            ready = hangover + timings["transcribe_ms"]
        else:  # decoding started early_into_ms into the hangover, in parallel with the rest of it
            ready = max(hangover, early_into_ms + timings["transcribe_ms"])
        timings["speech_end_to_publish_ms"] = round(ready + timings["intent_ms"] + dispatched.publish_ms, 1)
        for message in dispatched.messages:
            self._emit("mqtt", topic=message.topic, payload=message.payload)
        for outcome in dispatched.outcomes:
            self._emit("outcome", device=outcome.device, outcome=outcome.outcome.value, state=dict(outcome.state),
                       detail=outcome.detail)
        ok = all(o.outcome in (Outcome.DONE, Outcome.ANSWERED, Outcome.DRY_RUN) for o in dispatched.outcomes)
        self._emit("result", status="done" if ok else "failed", timings_ms=timings)
        return Interaction(wake, utterance, transcript, intents, None, dispatched.commands, dispatched.messages,
                           dispatched.outcomes, timings)

    def _on_pause(self, paused: SpeechPaused) -> None:
        """Decode the command so far now, or wait for the listener's later offer in this pause. Decoding
        overlaps the rest of the hangover; where the background is to be suppressed first, decoding takes
        longer, so it starts at the earlier offer (early_decode_noisy_ms)."""
        if self._decoded_for == paused.speech_end_ms:
            return
        if paused.noisy_only and not self.recognizer.suppresses(paused.pcm):
            return
        self._decoded_for = paused.speech_end_ms
        self._decode_early(paused)

    def _decode_early(self, paused: SpeechPaused) -> None:
        t0 = time.perf_counter()
        try:
            transcript = self.recognizer.transcribe(paused.pcm)
        except AssistantError as exc:  # the decode at the end of the hangover will say what is wrong
            log.debug("early decode failed: %s", exc)
            self._early = None
            return
        if not transcript.text and self.listener.incomplete(paused):
            # Not even a rejected command: no sentence fits what was said so far. Perhaps its end is still to
            # come, or the VAD missed it (quiet last words in a loud room): the listener waits longer, and
            # everything is decoded once the recording ends.
            self._early = None
            return
        self._early = (paused.speech_end_ms, paused.end_ms - paused.speech_end_ms, transcript,
                       _ms(time.perf_counter() - t0))

    def _emit(self, event: str, **fields) -> None:
        record = {"event": event}
        if self.source:
            record["file"] = self.source
        record.update(fields)
        self.on_event(record)
