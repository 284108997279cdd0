"""A continuation said without the wake word just after a turn, resolved against that turn's intents:
"and the bedroom too" (the same action, another target), "a bit more" / "again" (the same step once more),
"a bit less" (the step the other way), "no, the other one" (the last change undone, and made to the one
other device the last words could have meant), "never mind" (nothing more). Anything else is no continuation:
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
_OTHER = re.compile(r"^(?:(?:no|not that one|wrong one|sorry)\s+)*(?:i meant\s+)?(?:the\s+)?other(?:\s+one)?$")
_OPPOSITE = {"HassTurnOn": "HassTurnOff", "HassTurnOff": "HassTurnOn"}
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
    if _OTHER.match(said):
        return _the_other(language, acting, text)
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


def _the_other(language: Language, acting: tuple[Intent, ...], text: str) -> tuple[Intent, ...] | NotUnderstood:
    """ "No, the other one": the last turn's one device was the wrong one of two its words could mean ("the
    lamp" said where two lamps share the word). Its change is undone (on <-> off, a step the other way) and
    made to the other. Anything less certain asks back: a change that cannot be undone (a colour, a level
    set outright), more than one device, or no single other device sharing the words."""
    if len(acting) != 1 or "name" not in acting[0].slots:
        return NotUnderstood(text, "which one? Say its name", asks_back=True)
    last = acting[0]
    undone = _undone(last)
    if undone is None:
        return NotUnderstood(text, "I can't undo that; say which device and what to do", asks_back=True)
    wrong = last.slots["name"]
    device = language.home.devices.get(wrong)
    said = set(normalize(last.text).split())
    others = [key for key, other in language.home.devices.items()
              if key != wrong and device is not None and other.kind == device.kind
              and any(said & set(name.split()) - _COMMON for name in other.say)
              and any(said & set(name.split()) - _COMMON for name in device.say)]
    if len(others) != 1:
        return NotUnderstood(text, "which one? Say its name", asks_back=True)
    return (undone, Intent(last.name, {**last.slots, "name": others[0]}, text, last.source,
                           min(last.confidence, CONFIDENCE)))


_COMMON = frozenset({"the", "a", "an", "my", "that", "this"})  # words that name nothing


def _undone(last: Intent) -> Intent | None:
    """The intent that takes the last change back, where the change itself says how."""
    if last.name in _OPPOSITE and set(last.slots) == {"name"}:
        return Intent(_OPPOSITE[last.name], dict(last.slots), last.text, last.source, CONFIDENCE)
    steps = [k for k in _STEP_SLOTS if k in last.slots]
    if steps and set(last.slots) == {"name", *steps}:
        return Intent(last.name, {k: (-v if k in _STEP_SLOTS else v) for k, v in last.slots.items()}, last.text,
                      last.source, CONFIDENCE)
    return None
