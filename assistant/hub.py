"""What the hub answers a remote client, in the project's own values: a whole utterance of audio -> a
Transcript, text -> intents or NotUnderstood, text -> the dispatched outcome in words; and for satellites,
one session each (its area, its last turn for follow-ups), wake claims judged by the arbiter, and a
satellite's command run as a whole turn of the pipeline, in its area.

It knows no protocol: adapters/wyoming.py speaks Wyoming and calls these methods, one at a time (the
recognizer and the dispatcher are not made for two callers at once). Every method is synchronous and may
block (recognition, waiting for device echoes)."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .arbiter import DEFAULT_WINDOW_MS, Verdict, WakeArbiter, WakeClaim
from .audio import pcm_problem, pcm_to_16k
from .config import ListenerSettings
from .errors import AssistantError
from .interfaces import Understand
from .intents import match
from .intents.follow import continue_turn
from .listener import Listener
from .messages import EndReason, Intent, Interaction, NotUnderstood, Outcome, SpeechPaused, Transcript, Utterance
from .pipeline import Pipeline
from .present import outcome_words, spoken_reply

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handling:
    """The end of a turn that came in as text: did anything happen, and the words for it."""

    handled: bool
    text: str
    follow_up_ms: int = 0  # the satellite may listen this long for a continuation without the wake word
    ignored: bool = False  # a follow-up that continued nothing: the satellite says nothing


DEFAULT_FOLLOW_UP_MS = 5000
FOLLOW_UP_SLACK_MS = 10000  # a follow-up arrives after its window opened by at most its recording and transfer


@dataclass
class SatelliteSession:
    """What the hub keeps of one satellite, across reconnections: where it is and its last turn."""

    name: str
    area: str | None
    pipeline: Pipeline | None = None
    previous: tuple[Intent, ...] = ()
    previous_end_s: float = float("-inf")
    following: bool = field(default=False, repr=False)  # the turn running now is a follow-up
    follow_pipeline: Pipeline | None = None  # the same turn with the open-vocabulary recognizer


class _PlainDispatch:
    """The dispatcher as a pipeline's Dispatch, untimed (the wiring hands in a timed one)."""

    def __init__(self, dispatcher: Any):
        self.dispatcher = dispatcher

    def __call__(self, intents):
        return self.dispatcher.dispatch(intents)


class Hub:
    def __init__(self, registry: Any, recognizer: Any, language: Any, dispatcher: Any,
                 language_code: str = "en", area: str | None = None,
                 pipeline_for: Callable[[Understand, str], Pipeline] | None = None,
                 window_ms: int = DEFAULT_WINDOW_MS, follow_up_ms: int = DEFAULT_FOLLOW_UP_MS,
                 clock: Callable[[], float] = time.monotonic):
        self.registry = registry
        self.recognizer = recognizer
        self.language = language
        self.dispatcher = dispatcher
        self.language_code = language_code
        self.area = area
        # a satellite's turn: the wiring's pipeline (timed dispatch, events on MQTT) or a plain one
        self.pipeline_for = pipeline_for or (lambda understand, name: Pipeline(
            None, None, None, Listener(ListenerSettings(), None), recognizer, understand, _PlainDispatch(dispatcher),
            source=name))
        self.arbiter = WakeArbiter(window_ms)
        self.follow_up_ms = follow_up_ms
        self.clock = clock
        self.sessions: dict[str, SatelliteSession] = {}

    @property
    def recognizer_name(self) -> str:
        return self.recognizer.name

    def audio_problem(self, rate: int, width: int, channels: int) -> str | None:
        """Why audio of this shape would be refused, before any of it arrives (None: it is welcome)."""
        return pcm_problem(rate, width, channels)

    def transcribe(self, pcm: bytes, rate: int, width: int, channels: int) -> Transcript:
        """One whole utterance of raw signed PCM. Raises AudioError for audio that cannot be converted."""
        samples = pcm_to_16k(pcm, rate, width, channels)
        return self.recognizer.transcribe(samples.tobytes())

    def recognize(self, text: str) -> tuple[Intent, ...] | NotUnderstood:
        return match(self.language, text, self.area)

    def handle(self, text: str) -> Handling:
        """Match and dispatch: handled when at least one device did or answered what was asked."""
        result = self.recognize(text)
        if isinstance(result, NotUnderstood):
            return Handling(False, f"not understood ({result.reason})")
        try:
            dispatched = self.dispatcher.dispatch(result)
        except AssistantError as exc:  # a slot naming nothing in the registry, a broker gone for good
            return Handling(False, str(exc))
        turn = Interaction(None, None, Transcript(text, 1.0, "text"), intents=result,
                           commands=dispatched.commands, messages=dispatched.messages,
                           outcomes=dispatched.outcomes)
        words = "; ".join(outcome_words(self.registry, turn)) or "nothing to do"
        done = any(not o.outcome.missed for o in dispatched.outcomes)
        log.info("handled %r: %s", text, words)
        return Handling(done, words)

    # ------------------------------------------------------------------ satellites

    def join(self, name: str, area: str | None) -> None:
        """A satellite said who it is: a new session, or the one it had before a reconnection."""
        session = self.sessions.get(name)
        if session is None:
            session = self.sessions[name] = SatelliteSession(name, area)
            understand = lambda text, s=session: self._understand(s, text)  # noqa: E731
            session.pipeline = self.pipeline_for(understand, name)
            if hasattr(self.recognizer, "understanding"):  # the fused engine decides with the matcher: this room's
                session.pipeline = dataclasses.replace(session.pipeline,
                                                       recognizer=self.recognizer.understanding(understand))
            # A continuation ("and the bedroom too", "a bit more") is no sentence of the grammar: where the
            # recognizer is the fused one, follow-ups are heard by its open-vocabulary half alone.
            open_vocabulary = getattr(self.recognizer, "neural", None)
            session.follow_pipeline = session.pipeline if open_vocabulary is None else \
                dataclasses.replace(session.pipeline, recognizer=open_vocabulary)
        elif session.area != area:
            session.area = area
        log.info("satellite %s joined (area %s)", name, area or "unset")

    def woke(self, name: str, now_ms: int, score: float, snr_db: float | None) -> list[Verdict]:
        return self.arbiter.claim(WakeClaim(name, now_ms, score, snr_db))

    def command_ready(self, name: str, now_ms: int) -> list[Verdict]:
        return self.arbiter.command_ready(name, now_ms)

    def tick(self, now_ms: int) -> list[Verdict]:
        return self.arbiter.tick(now_ms)

    def left(self, name: str) -> None:
        self.arbiter.forget(name)

    def satellite_pause(self, name: str, pcm: bytes, rate: int, width: int, channels: int, speech_end_ms: int,
                        follow_up: bool = False) -> None:
        """The satellite heard its speaker stop (its command may be over): decode what has come so far while
        the satellite's hangover runs, as the one-process loop does; the turn uses it if no more speech came."""
        session = self.sessions[name]
        samples = pcm_to_16k(pcm, rate, width, channels)
        end_ms = len(samples) * 1000 // 16000
        pipeline = session.follow_pipeline if follow_up else session.pipeline
        early_ms = pipeline.listener.settings.early_decode_ms
        session.following = follow_up
        try:
            pipeline.pause(SpeechPaused(samples.tobytes(), 0, end_ms, min(speech_end_ms, end_ms),
                                        noisy_only=end_ms - speech_end_ms < early_ms))
        finally:
            session.following = False

    def satellite_turn(self, name: str, pcm: bytes, rate: int, width: int, channels: int,
                       speech_end_ms: int | None = None, follow_up: bool = False) -> Handling:
        """A satellite's whole command (after the wake word, or in its follow-up window) as one turn in its
        area. Raises AudioError for audio that cannot be converted."""
        session = self.sessions[name]
        samples = pcm_to_16k(pcm, rate, width, channels)
        now_s = self.clock()
        if follow_up and now_s - session.previous_end_s > (self.follow_up_ms + FOLLOW_UP_SLACK_MS) / 1000:
            return Handling(False, "", ignored=True)  # its window closed long ago: no continuation of anything
        end_ms = len(samples) * 1000 // 16000
        utterance = Utterance(samples.tobytes(), 0, end_ms, EndReason.SILENCE,
                              min(speech_end_ms, end_ms) if speech_end_ms is not None else end_ms)
        session.following = follow_up
        try:
            turn = (session.follow_pipeline if follow_up else session.pipeline).turn(None, utterance)
        finally:
            session.following = False
        if follow_up and turn.not_understood is not None and not turn.intents and not turn.not_understood.asks_back:
            log.info("satellite %s: follow-up %r ignored (%s)", name,
                     turn.transcript.text if turn.transcript else "", turn.not_understood.reason)
            return Handling(False, "", ignored=True)
        acted = any(o.outcome in (Outcome.DONE, Outcome.DRY_RUN) for o in turn.outcomes)
        if turn.intents and [i.name for i in turn.intents] != ["HassNevermind"]:
            session.previous, session.previous_end_s = turn.intents, self.clock()
        else:
            session.previous, session.previous_end_s = (), float("-inf")
        words = spoken_reply(self.registry, turn) if turn.not_understood is None else turn.not_understood.reason
        done = turn.not_understood is None and any(not o.outcome.missed for o in turn.outcomes)
        log.info("satellite %s (%s): %r -> %s", name, session.area or "no area",
                 turn.transcript.text if turn.transcript else "", words)
        return Handling(done, words or "nothing to do", self.follow_up_ms if acted else 0)

    def _understand(self, session: SatelliteSession, text: str) -> tuple[Intent, ...] | NotUnderstood:
        if session.following:
            return continue_turn(self.language, session.previous, text, session.area)
        return match(self.language, text, session.area)
