"""What the hub answers a remote client, in the project's own values: a whole utterance of audio -> a
Transcript, text -> intents or NotUnderstood, text -> the dispatched outcome in words.

It knows no protocol: adapters/wyoming.py speaks Wyoming and calls these methods, one at a time (the
recognizer and the dispatcher are not made for two callers at once). Every method is synchronous and may
block (recognition, waiting for device echoes)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from .audio import pcm_problem, pcm_to_16k
from .errors import AssistantError
from .intents import match
from .messages import Intent, Interaction, NotUnderstood, Transcript
from .present import outcome_words

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handling:
    """The end of a turn that came in as text: did anything happen, and the words for it."""

    handled: bool
    text: str


class Hub:
    def __init__(self, registry: Any, recognizer: Any, language: Any, dispatcher: Any,
                 language_code: str = "en", area: str | None = None):
        self.registry = registry
        self.recognizer = recognizer
        self.language = language
        self.dispatcher = dispatcher
        self.language_code = language_code
        self.area = area

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
