"""A continuation said without the wake word just after a turn, resolved against that turn's intents:
"and the bedroom too" (the same action, another target), "a bit more" / "again" (the same step once more),
"a bit less" (the step the other way), "never mind" (nothing more). Anything else is no continuation:
a follow-up window must never act on a stray sentence, even one that is a whole command.

Pure; the previous turn is handed in (the hub keeps one per satellite).
"""

from __future__ import annotations

import re

from ..messages import Intent, NotUnderstood
from .forgiving import normalize
from .language import Language
from .matcher import _target_of, match

_STEP_SLOTS = ("brightness_step", "color_temp_step_kelvin", "position_step")
_TARGETS = ("name", "group", "area", "domain", "floor")
_OPENING = re.compile(r"^(?:(?:and|also|oh|now|then|please|ok|okay)\s+)+")
# "too" at the end, and what Whisper tiny writes for it there ("and the bedroom too" -> "in the bedroom tube")
_CLOSING = re.compile(r"\s+(?:(?:too|to|two|tube|tool|also|as well|please)\s*)+$")
_AGAIN = frozenset({"more", "a bit more", "a little more", "a little bit more", "bit more", "even more", "again",
                    "once more", "more please", "do that again", "same again", "a touch more", "further"})
_LESS = frozenset({"less", "a bit less", "a little less", "a little bit less", "bit less", "not so much",
                   "too much", "back a bit", "a touch less"})
CONFIDENCE = 0.9  # resolved against the previous turn, not said in full


def continue_turn(language: Language, previous: tuple[Intent, ...], text: str,
                  area: str | None = None) -> tuple[Intent, ...] | NotUnderstood:
    """The intents `text` adds to the previous turn, or NotUnderstood (not a continuation: ignore it)."""
    said = _CLOSING.sub("", _OPENING.sub("", normalize(text))).strip()
    if not said:
        return NotUnderstood(text, "nothing was said")
    nevermind = match(language, said, area)
    if isinstance(nevermind, tuple) and [i.name for i in nevermind] == ["HassNevermind"]:
        return nevermind
    acting = tuple(i for i in previous if any(k in i.slots for k in _TARGETS) and "scene" not in i.slots)
    if not acting:
        return NotUnderstood(text, "the previous turn did nothing a continuation could repeat")
    if said in _AGAIN or said in _LESS:
        sign = 1 if said in _AGAIN else -1
        stepped = tuple(Intent(i.name, {k: (v * sign if k in _STEP_SLOTS else v) for k, v in i.slots.items()}, text,
                               i.source, min(i.confidence, CONFIDENCE))
                        for i in acting if any(k in i.slots for k in _STEP_SLOTS))
        return stepped or NotUnderstood(text, f"{said!r} continues a step up or down, and the last turn was none")
    target = _target_of(language, said) or _area_of(language, said, acting[-1])
    if target is None:
        return NotUnderstood(text, f"{said!r} is no continuation of the last turn")
    return tuple(Intent(i.name, {**{k: v for k, v in i.slots.items() if k not in _TARGETS}, **target}, text,
                        i.source, min(i.confidence, CONFIDENCE)) for i in acting)


def _area_of(language: Language, said: str, last: Intent) -> dict | None:
    """ "the bedroom": that room's lights, when the last turn was about lights."""
    room = re.sub(r"^(?:in\s+)?(?:the\s+)?", "", said)
    if room not in language.home.areas:
        return None
    domain = last.slots.get("domain")
    if domain is None and "name" in last.slots:
        device = language.home.devices.get(last.slots["name"])
        domain = "light" if device is not None and device.kind == "light" else None
    return {"area": room, "domain": domain} if domain == "light" else None
