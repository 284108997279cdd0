"""One turn of the loop, wired: frames -> wake -> utterance -> transcript -> intents -> MQTT -> outcome.

The pipeline holds no adapter imports: scorer, VAD, recognizer, matcher and dispatcher are handed in, as the
seams of interfaces.py. A turn is three steps, each taking and returning values of messages.py:
transcribe (Utterance -> Transcript), understand (-> intents or NotUnderstood), dispatch (-> Dispatched).
It reports every stage as an event (a dict, one JSON line each) and returns one Interaction per turn.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from .config import Settings
from .errors import AssistantError
from .interfaces import AudioSource, Dispatch, EventSink, Recognizer, Understand, WakeRecheck, WakeScorer
from .hearing import Ears
from .listener import Listener
from .messages import (Dispatched, EarlyDecode, EndReason, Intent, Interaction, NotUnderstood, Outcome,
                       SpeechPaused, Transcript, Utterance, WakeDetected)
from .wake import WakePolicy

log = logging.getLogger(__name__)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


@dataclass(frozen=True)
class Heard:
    """The transcribe step's result: the transcript, and the early decode it came from, if any."""

    transcript: Transcript
    early: EarlyDecode | None


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
    recheck: WakeRecheck | None = None  # a second look at the wake words the model was unsure of
    _early: EarlyDecode | None = field(default=None, init=False, repr=False)
    _decoded_for: int | None = field(default=None, init=False, repr=False)  # the speech end of the last early decode

    def run(self, frames: AudioSource) -> list[Interaction]:
        """Feed a whole finite source (a WAV); returns the turns it held."""
        return list(self.stream(frames))

    def stream(self, frames: AudioSource) -> Iterator[Interaction]:
        """Feed a source turn by turn, keeping nothing: the form for a microphone that never ends. Each frame
        is heard once (hearing.Ears: scored, judged for the wake word while the listener is idle, handed to
        the listener)."""
        ears = Ears(self.scorer, self.policy, self.listener, self.recheck)
        wake: WakeDetected | None = None
        last_ms = 0
        for frame in frames:
            last_ms = frame.end_ms
            woke, heard = ears.hear(frame)
            if woke is not None:
                wake = woke
                self._emit("wake", wake_word=wake.wake_word, time_s=wake.time_ms / 1000,
                           score=round(wake.score, 3), snr_db=wake.snr_db,
                           **({"second_look": wake.recheck} if wake.recheck is not None else {}))
            match heard:
                case SpeechPaused() as paused:
                    self.pause(paused)
                case Utterance() as utterance:
                    yield self._finish_turn(wake, utterance, frame.end_ms)
        utterance = self.listener.end_of_audio(last_ms)
        if utterance is not None:
            yield self._finish_turn(wake, utterance, last_ms)

    def _finish_turn(self, wake: WakeDetected | None, utterance: Utterance, at_ms: int) -> Interaction:
        turn = self.turn(wake, utterance)
        self.listener.resume(at_ms)
        return turn

    def turn(self, wake: WakeDetected | None, utterance: Utterance) -> Interaction:
        """One whole utterance through transcribe, understand and dispatch (a hub's turn for an utterance a
        satellite recorded starts here)."""
        turn = self._turn(wake, utterance)
        self.on_turn(turn)
        return turn

    # ------------------------------------------------------------------ one turn: transcribe, understand, dispatch

    def _turn(self, wake: WakeDetected | None, utterance: Utterance) -> Interaction:
        self._emit("utterance", start_s=utterance.start_ms / 1000, end_s=utterance.end_ms / 1000,
                   ended_by=utterance.ended_by.value)
        if utterance.ended_by is EndReason.NO_SPEECH:
            self._emit("result", status="timeout", detail="nobody spoke after the wake word")
            return Interaction(wake, utterance, None, not_understood=NotUnderstood("", "no speech"))
        early, self._early, self._decoded_for = self._early, None, None
        timings: dict[str, float] = {}
        if utterance.speech_end_ms is not None:
            timings["hangover_ms"] = float(utterance.end_ms - utterance.speech_end_ms)
        heard = self._transcribe(utterance, early, timings)
        if isinstance(heard, NotUnderstood):
            self._emit("result", status="error", detail=heard.reason)
            return Interaction(wake, utterance, None, not_understood=heard)
        transcript = heard.transcript
        understood = self._understand(transcript, timings)
        if isinstance(understood, NotUnderstood):
            self._emit("result", status="not_understood", detail=understood.reason, timings_ms=timings)
            return Interaction(wake, utterance, transcript, not_understood=understood, timings_ms=timings)
        dispatched = self._dispatch(transcript, understood, timings)
        if isinstance(dispatched, NotUnderstood):
            self._emit("result", status="failed", detail=dispatched.reason, timings_ms=timings)
            return Interaction(wake, utterance, transcript, understood, dispatched, timings_ms=timings)
        hangover = timings.get("hangover_ms", 0.0)
        if heard.early is None:  # decoding starts when the hangover has run out
            ready = hangover + timings["transcribe_ms"]
        else:  # decoding started into the hangover, in parallel with the rest of it
            ready = max(hangover, heard.early.into_hangover_ms + timings["transcribe_ms"])
        timings["speech_end_to_publish_ms"] = round(ready + timings["intent_ms"] + dispatched.publish_ms, 1)
        ok = all(o.outcome in (Outcome.DONE, Outcome.ANSWERED, Outcome.DRY_RUN) for o in dispatched.outcomes)
        self._emit("result", status="done" if ok else "failed", timings_ms=timings)
        return Interaction(wake, utterance, transcript, understood, None, dispatched.commands, dispatched.messages,
                           dispatched.outcomes, timings)

    def _transcribe(self, utterance: Utterance, early: EarlyDecode | None,
                    timings: dict[str, float]) -> Heard | NotUnderstood:
        """Utterance -> Transcript: the early decode when it was made for this very pause, else a decode of
        the whole recording."""
        if early is not None and utterance.ended_by is EndReason.SILENCE \
                and early.speech_end_ms == utterance.speech_end_ms \
                and not (early.transcript.rejected and early.transcript.text):
            # Decoded while the hangover ran; live, that overlapped the silence we were waiting out. A decode
            # that heard no command is done again on the whole recording: the early one may have been cut
            # short of what a recognizer needs (Whisper wrote "200700 kelvin" 160 ms into the silence, and
            # "2,700 kelvin" at the end). An empty one stands: the listener already waited for more.
            timings["transcribe_ms"] = early.decode_ms
            timings["decode_started_into_hangover_ms"] = float(early.into_hangover_ms)
            heard = Heard(early.transcript, early)
        else:
            t0 = time.perf_counter()
            try:
                transcript = self.recognizer.transcribe(utterance.pcm)
            except AssistantError as exc:
                log.error("speech recognition failed: %s", exc)
                return NotUnderstood("", str(exc))
            timings["transcribe_ms"] = _ms(time.perf_counter() - t0)
            heard = Heard(transcript, None)
        t = heard.transcript
        extra = {"why": t.why, "engines": [
            {"engine": p.engine, "text": p.text, "confidence": round(p.confidence, 3), "rejected": p.rejected}
            for p in t.parts]} if t.parts else {}
        self._emit("transcript", text=t.text, confidence=round(t.confidence, 3), engine=t.engine,
                   rejected=t.rejected, **extra)
        return heard

    def _understand(self, transcript: Transcript, timings: dict[str, float]) -> tuple[Intent, ...] | NotUnderstood:
        """Transcript -> the intents it holds, or NotUnderstood."""
        t1 = time.perf_counter()
        if transcript.rejected or not transcript.text:
            result: tuple[Intent, ...] | NotUnderstood = NotUnderstood(
                transcript.text, transcript.why or "speech not recognised as a command")
        else:
            result = self.understand(transcript.text)
        timings["intent_ms"] = _ms(time.perf_counter() - t1)
        if isinstance(result, NotUnderstood):
            self._emit("intents", understood=False, intents=[], reason=result.reason)
        else:
            self._emit("intents", understood=True, intents=[i.to_json() for i in result])
        return result

    def _dispatch(self, transcript: Transcript, intents: tuple[Intent, ...],
                  timings: dict[str, float]) -> Dispatched | NotUnderstood:
        """Intents -> what they did to the devices, or NotUnderstood saying why they could not be carried out."""
        try:
            dispatched = self.dispatch(intents)
        except AssistantError as exc:  # e.g. a slot naming nothing in the registry, or a dead broker
            log.error("could not carry out %s: %s", [i.name for i in intents], exc)
            return NotUnderstood(transcript.text, str(exc))
        if not dispatched.dry_run:
            timings["publish_ms"] = round(dispatched.publish_ms, 1)
            timings["echo_ms"] = round(dispatched.echo_ms, 1)
        for message in dispatched.messages:
            self._emit("mqtt", topic=message.topic, payload=message.payload)
        for outcome in dispatched.outcomes:
            self._emit("outcome", device=outcome.device, outcome=outcome.outcome.value, state=dict(outcome.state),
                       detail=outcome.detail)
        return dispatched

    # ------------------------------------------------------------------ a pause: the early decode

    def pause(self, paused: SpeechPaused) -> None:
        """Decode the command so far now, or wait for the listener's later offer in this pause. Decoding
        overlaps the rest of the hangover; where the background is to be suppressed first, decoding takes
        longer, so it starts at the earlier offer (early_decode_noisy_ms)."""
        if self._decoded_for == paused.speech_end_ms:
            return
        if paused.noisy_only and not self.recognizer.suppresses(paused.pcm):
            return
        self._decoded_for = paused.speech_end_ms
        self._early = self._decode_early(paused)

    def _decode_early(self, paused: SpeechPaused) -> EarlyDecode | None:
        t0 = time.perf_counter()
        try:
            transcript = self.recognizer.transcribe(paused.pcm)
        except AssistantError as exc:  # the decode at the end of the hangover will say what is wrong
            log.debug("early decode failed: %s", exc)
            return None
        if not transcript.text and self.listener.incomplete_waits_longer:
            # Not even a rejected command: no sentence fits what was said so far. Perhaps its end is still to
            # come, or the VAD missed it (quiet last words in a loud room): the pause runs longer, and
            # everything is decoded once the recording ends.
            self.listener.extend_pause(paused)
            return None
        return EarlyDecode(paused.speech_end_ms, paused.end_ms - paused.speech_end_ms, transcript,
                           _ms(time.perf_counter() - t0))

    def _emit(self, event: str, **fields) -> None:
        record = {"event": event}
        if self.source:
            record["file"] = self.source
        record.update(fields)
        self.on_event(record)
