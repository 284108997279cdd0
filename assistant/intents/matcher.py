"""Text -> intents: hassil matching against the Language, compound "X and Y" commands, and "it".

Pure and synchronous; never raises for odd text (anything it cannot match is NotUnderstood).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

from ..messages import Intent, NotUnderstood
from .language import PREVIOUS, Language
from .ranges import out_of_range

log = logging.getLogger(__name__)

_TARGET_SLOTS = ("name", "group", "area", "domain")
_TEXT_SLOTS = ("fan_mode",)  # "speed three" -> "3": the schema wants the fan mode as text
_SPELLINGS = {"nevermind": "never mind", "colour": "color", "percentage": "percent"}  # written forms only
# At most this many "and"-joined parts in one utterance; more is not understood. Nobody gives six orders in
# one breath, so a longer chain is a runaway transcript or pasted text, and splitting it costs hassil
# matches in the square of its length (500 parts: over 100,000).
MAX_PARTS = 5


def normalize(text: str) -> str:
    """Lowercase words and digits only: "Set it to 50%!" -> "set it to 50 percent", "tûrn ön" -> "turn on"."""
    # Accents folded (NFKD, combining marks dropped), else "tûrn" would lose its letter and match nothing.
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.lower().replace("%", " percent ").replace("per cent", "percent")
    # A sign before a number stays a word, so "-5 percent" matches nothing instead of 5 percent.
    text = re.sub(r"[-\u2212\u2013+]\s*(?=\d)", lambda m: " minus " if m.group(0)[0] != "+" else " plus ", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 2,700 -> 2700
    text = re.sub(r"[^a-z0-9']+", " ", text)
    return " ".join(_SPELLINGS.get(w, w) for w in text.split())


def match(language: Language, text: str) -> tuple[Intent, ...] | NotUnderstood:
    """All intents in `text`, in order, or NotUnderstood saying why."""
    words = normalize(text)
    if not words:
        return NotUnderstood(text, "nothing was said")
    pieces = words.split(" and ")
    if len(pieces) > MAX_PARTS:
        return NotUnderstood(text, f"too many commands in one sentence ({len(pieces)} parts joined by 'and'; "
                                   f"at most {MAX_PARTS})")
    intents = _match_pieces(language, tuple(pieces))
    if intents is None:
        return NotUnderstood(text, out_of_range(language, words, _match_pieces) or f"no command matches {words!r}")
    resolved: list[Intent] = []
    for intent in intents:
        if intent.slots.get("name") == PREVIOUS:
            previous = next((i for i in reversed(resolved) if any(k in i.slots for k in _TARGET_SLOTS[:3])), None)
            phrase = None if previous is None else _spoken_target(language, previous)
            if phrase is None:
                return NotUnderstood(text, f"'it' in {intent.text!r} does not refer to a device named before it")
            # Said again with the name in place of "it", so "close it" after a light is what "close the
            # kitchen light" is: not a command (it was a turn-off).
            said = re.sub(r"\bit\b", phrase, intent.text)
            again = _match_one(language, said)
            if again is None:
                return NotUnderstood(text, f"no command matches {said!r} ('it' is {phrase})")
            intent = Intent(again.name, again.slots, intent.text)
        resolved.append(intent)
    return tuple(resolved)


def _spoken_target(language: Language, intent: Intent) -> str | None:
    """How the target of an earlier intent is said, to stand in for "it"."""
    registry, slots = language.registry, intent.slots
    if slots.get("name") in registry.devices:
        return f"the {registry.devices[slots['name']].spoken}"
    if slots.get("group") in registry.groups:
        return f"the {registry.groups[slots['group']].spoken}"
    if "area" in slots:
        return f"all the lights in the {slots['area']}" if slots.get("domain") == "light" else None
    return None


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
