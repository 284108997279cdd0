"""Text -> intents: hassil matching against the Language, compound "X and Y" commands, and "it".

Pure and synchronous; never raises for odd text (anything it cannot match is NotUnderstood).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from ..messages import Intent, NotUnderstood
from .language import PREVIOUS, Language

log = logging.getLogger(__name__)

_TARGET_SLOTS = ("name", "group", "area", "domain")
_TEXT_SLOTS = ("fan_mode",)
_SPELLINGS = {"nevermind": "never mind", "colour": "color", "percentage": "percent"}  # written forms only  # "speed three" -> "3": the schema wants the fan mode as text


def normalize(text: str) -> str:
    """Lowercase words and digits only: "Set it to 50%!" -> "set it to 50 percent"."""
    text = text.lower().replace("%", " percent ").replace("per cent", "percent")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 2,700 -> 2700
    text = re.sub(r"[^a-z0-9']+", " ", text)
    return " ".join(_SPELLINGS.get(w, w) for w in text.split())


def match(language: Language, text: str) -> tuple[Intent, ...] | NotUnderstood:
    """All intents in `text`, in order, or NotUnderstood saying why."""
    words = normalize(text)
    if not words:
        return NotUnderstood(text, "nothing was said")
    pieces = words.split(" and ")
    intents = _match_pieces(language, tuple(pieces))
    if intents is None:
        return NotUnderstood(text, f"no command matches {words!r}")
    resolved: list[Intent] = []
    for intent in intents:
        if intent.slots.get("name") == PREVIOUS:
            previous = next((i for i in reversed(resolved) if any(k in i.slots for k in _TARGET_SLOTS[:3])), None)
            if previous is None:
                return NotUnderstood(text, f"'it' in {intent.text!r} does not refer to a device named before it")
            slots = {k: v for k, v in intent.slots.items() if k != "name"}
            slots.update({k: previous.slots[k] for k in _TARGET_SLOTS if k in previous.slots})
            intent = Intent(intent.name, slots, intent.text)
        resolved.append(intent)
    return tuple(resolved)


def _match_pieces(language: Language, pieces: tuple[str, ...]) -> tuple[Intent, ...] | None:
    """Split "a and b and c" into consecutive runs that each match one sentence (fewest intents first)."""
    best: list[tuple[Intent, ...] | None] = [()] + [None] * len(pieces)
    for end in range(1, len(pieces) + 1):
        for start in range(end):
            if best[start] is None:
                continue
            one = _match_one(language, " and ".join(pieces[start:end]))
            if one is not None and (best[end] is None or len(best[start]) + 1 < len(best[end])):
                best[end] = best[start] + (one,)
    return best[-1]


def _match_one(language: Language, text: str) -> Intent | None:
    return _cached_match(language, text)


@lru_cache(maxsize=512)
def _cached_match(language: Language, text: str) -> Intent | None:
    from hassil import recognize

    try:
        result = recognize(text, language.intents)
    except Exception as exc:  # hassil should not raise on text; if it does, it is still "not understood"
        log.warning("matcher failed on %r: %s", text, exc)
        return None
    if result is None:
        return None
    slots = {}
    for name, entity in result.entities.items():
        value = entity.value
        slots[name] = str(value) if name in _TEXT_SLOTS else value
    return Intent(result.intent.name, slots, text)
