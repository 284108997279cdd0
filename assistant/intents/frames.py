"""A command said in words no template has, read by its parts: the home's names + one action, nothing else.

"kill the lights in the office", "more light in the kitchen", "bump the purifier up to eight", "would you
mind opening the blinds": each is a target the registry names (a device, group, scene, area, or "the
lights" of an area) and one action word or value. read() finds both and builds the intents, but only when
EVERY word of the sentence is accounted for: a name, an action, a value, or one of a short list of words
that carry no meaning of their own ("the", "to", "some", "need"). One word it does not know ("the kitchen
light was so bright yesterday": "was", "so", "yesterday") and it reads nothing, so chat, stories about the
lights, hypotheticals and devices this home does not have stay not understood. Two actions that do not go
together ("turn the lamp off brighter") also read nothing.

Tried by the matcher after the templates and the near-miss names, before Home Assistant's fuzzy matcher
(which guesses more freely); its intents carry CONFIDENCE. Vocabulary in frame_words.py. Pure and synchronous.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..messages import Intent
from .forgiving import negated
from .frame_words import (COLORS, EMPTY, KINDS, ONES, PHRASES, QUERY_EMPTY, QUERY_START, TENS, UNFINISHED,
                          VERB_FORMS, WHITES, WORDS, LEVEL_VERBS)

CONFIDENCE = 0.75


@dataclass
class _Said:
    """What read() found in the words: targets, cues with their values, and the words it does not know."""

    targets: list[tuple[str, Any]] = field(default_factory=list)
    cues: dict[str, Any] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    switch: bool = False
    turned: bool = False  # a verb that moves a level: "turn it up", "crank it down"
    by_number: bool = False  # "by 20 percent": the number is a step, not a level


def _number(tokens: list[str], i: int) -> tuple[int, int] | None:
    """(value, next index) of the number said at tokens[i]: digits, or words up to "nine hundred ninety nine"."""
    if tokens[i].isdigit():
        return int(tokens[i]), i + 1
    value, j, seen = 0, i, False
    if j < len(tokens) and tokens[j] in ("a", "one") and j + 1 < len(tokens) and tokens[j + 1] == "hundred":
        return 100, j + 2
    while j < len(tokens):
        word = tokens[j]
        if word in TENS and (not seen or value % 100 == 0):
            value, seen = value + TENS[word], True
        elif word in ONES and (not seen or (value % 10 == 0 and value % 100 != 0 and ONES[word] < 10)
                                or value % 100 == 0):
            value, seen = value + ONES[word], True
        elif word == "hundred" and seen and value < 10:
            value *= 100
        else:
            break
        j += 1
    return (value, j) if seen else None


def _names(registry) -> list[tuple[tuple[str, ...], str, Any]]:
    named: list[tuple[tuple[str, ...], str, Any]] = []
    named += [(tuple(s.split()), "device", d) for d in registry.devices.values() for s in d.say]
    named += [(tuple(s.split()), "group", g) for g in registry.groups.values() for s in g.say]
    named += [(tuple(s.split()), "scene", sc) for sc in registry.scenes.values() for s in sc.say]
    named += [(tuple(a.split()), "area", a) for a in registry.areas]
    named += [(tuple(f.split()), "floor", f) for f in registry.floors]
    return sorted(named, key=lambda n: -len(n[0]))


def _parse(registry, words: str) -> _Said:
    tokens = [VERB_FORMS.get(t, t) for t in words.split()]
    said, names, i = _Said(switch="switch" in tokens, turned=bool(LEVEL_VERBS & set(tokens))), _names(registry), 0
    phrases = sorted(((tuple(p.split()), c) for p, c in PHRASES.items()), key=lambda p: -len(p[0]))
    while i < len(tokens):
        name = next((n for n in names if tuple(tokens[i:i + len(n[0])]) == n[0]), None)
        phrase = next((p for p in phrases if tuple(tokens[i:i + len(p[0])]) == p[0]), None)
        number = _number(tokens, i)
        if name is not None and (phrase is None or len(name[0]) >= len(phrase[0])):
            said.targets.append((name[1], name[2]))
            i += len(name[0])
        elif phrase is not None:
            said.cues.setdefault(phrase[1][0], phrase[1][1])
            i += len(phrase[0])
        elif number is not None:
            said.numbers.append(number[0])
            said.by_number = said.by_number or (i > 0 and tokens[i - 1] == "by")
            i = number[1]
        elif tokens[i] in KINDS:
            said.targets.append(("kind", KINDS[tokens[i]]))
            i += 1
        elif tokens[i] in WORDS:
            cue, value = WORDS[tokens[i]]
            said.cues.setdefault(cue, value)
            i += 1
        else:
            if tokens[i] not in EMPTY:
                said.unknown.append(tokens[i])
            i += 1
    return said


def read(registry, words: str, area: str | None, colors: frozenset[str] = COLORS) -> tuple[Intent, ...] | None:
    """The intents of one command read by its parts, or None where any word is not accounted for."""
    tokens = words.split()
    if not tokens:
        return None
    if negated(words.replace("stop", "")) and not _calls_off(words):
        return None
    if tokens[-1] in UNFINISHED and tokens[0] not in QUERY_START:
        return None  # "turn on the kitchen light and ...", "set the lamp to ...": cut off before the end
    if tokens[0] in QUERY_START:
        colors_said, said = _colored(registry, words, colors)
        return None if colors_said else _query(registry, said, area, words)
    # "X and Y": each part an action, a target, or both. A part with no target acts on the targets before it
    # ("turn on the kitchen light and set to 60 percent"); targets with no action take the next one ("the
    # desk lamp and the kitchen light off").
    intents: list[Intent] = []
    pending: list[tuple[dict, str]] = []
    last: list[tuple[dict, str]] = []
    for part in words.split(" and "):
        colors_said, said = _colored(registry, part, colors)
        if said.unknown and set(said.unknown) == {"it"} and said.targets and \
                all(kind in ("area", "floor") for kind, _ in said.targets):
            said.unknown = []  # "make it brighter in the living room": "it" is the room
        if said.unknown or not part.strip():
            return None
        if "nevermind" in said.cues:
            if said.targets or len(said.cues) != 1 or " and " in words:
                return None
            return (Intent("HassNevermind", {}, words, "own", CONFIDENCE),)
        targets = _targets(registry, said, area) if said.targets or "here" in said.cues else []
        if said.targets and not targets:
            return None
        scenes_only = bool(targets) and all(kind == "scene" for _, kind in targets)
        if not said.cues and not colors_said and not said.numbers and not scenes_only:
            if not targets or all(kind in ("area", "floor") for kind, _ in said.targets):
                return None  # a room's name alone is more often a recognizer's echo of its prompt than a target
            pending += targets
            continue
        targets = pending + (targets or last)
        pending = []
        if not targets:
            return None
        found = _intents(said, colors_said, targets, part)
        if found is None:
            return None
        intents += found
        last = targets
    if pending:
        if not intents:
            return None
        name, slots = intents[-1].name, {k: v for k, v in intents[-1].slots.items() if k not in _TARGET_KEYS}
        intents += [Intent(name, {**t, **slots}, words, "own", CONFIDENCE) for t, kind in pending
                    if kind == "scene" or _fits(name, slots, kind)]
    return tuple(intents) or None


_TARGET_KEYS = ("name", "group", "area", "domain", "scene")


def _colored(registry, words: str, colors: frozenset[str]) -> tuple[list[str], _Said]:
    """The colours said (not the white of "neutral white") and what the rest of the words say."""
    tokens = words.split()
    said_colors = [t for i, t in enumerate(tokens) if t in colors and not (t == "white" and i and tokens[i - 1] in WHITES)]
    return said_colors, _parse(registry, " ".join(t for t in tokens if t not in said_colors))


def _intents(said: _Said, colors: list[str], targets: list[tuple[dict, str]], words: str) -> list[Intent] | None:
    action = _action(said, colors, {kind for _, kind in targets})
    if action is None:
        return None
    name, slots = action
    intents = []
    for target, kind in targets:
        if kind == "scene":
            if name != "HassTurnOn" or slots:
                return None
        elif not _fits(name, slots, kind):
            return None
        intents.append(Intent(name, {**target, **slots}, words, "own", CONFIDENCE))
    return intents


def _calls_off(words: str) -> bool:
    """ "no wait, never mind": a "no" that calls a request off is no negation of a command."""
    rest = set(words.replace("never mind", "").split()) - {"no", "wait", "oops", "sorry", "oh"}
    said = _parse_phrases(words)
    return "nevermind" in said and not (rest & {"not", "dont", "never", "nothing"})


def _parse_phrases(words: str) -> set[str]:
    padded = f" {words} "
    return {cue for phrase, (cue, _) in PHRASES.items() if f" {phrase} " in padded} | \
        {WORDS[w][0] for w in words.split() if w in WORDS}


def _targets(registry, said: _Said, area: str | None) -> list[tuple[dict, str]]:
    """(slots, kind) per target; empty when the targets are unclear ("the lights" with no room known)."""
    found: list[tuple[dict, str]] = []
    areas = [v for k, v in said.targets if k == "area"]
    if len(areas) > 1:
        return []  # two rooms with no "and" between them: one is an echo ("office, ... in the living room")
    floors = [v for k, v in said.targets if k == "floor"]
    kinds = {v for k, v in said.targets if k == "kind"}
    if "here" in said.cues:
        if area is None:
            return []
        areas.append(area)
    everything = "all" in said.cues or "house" in said.cues
    for kind_name, value in said.targets:
        if kind_name == "device":
            found.append(({"name": value.name}, value.kind))
        elif kind_name == "group":
            found.append(({"group": value.name}, "light"))
        elif kind_name == "scene":
            found.append(({"scene": value.name}, "scene"))
    for floor in floors:
        areas += [a for a in registry.floors.get(floor, ()) if a not in areas]
    if len(kinds) > 1:
        return []
    kind = next(iter(kinds), None)
    if areas:
        if found:
            return []  # "the desk lamp in the kitchen": a name and a room that need not agree; the templates decide
        for where in dict.fromkeys(areas):
            if kind is None and everything and ("house" not in said.cues):
                found.append(({"area": where}, "any"))
            elif kind in (None, "light"):
                found.append(({"area": where, "domain": "light"}, "light"))
            else:
                devices = registry.in_area(where, kind)
                if len(devices) != 1:
                    return []
                found.append(({"name": devices[0].name}, kind))
    elif kind is not None and not found:
        if kind == "light" and everything:
            found.append(({"domain": "light"}, "light"))
        elif kind == "light":
            if area is None or "house" in said.cues:
                return []
            found.append(({"area": area, "domain": "light"}, "light"))
        else:
            devices = registry.of_kind(kind)
            if len(devices) != 1:
                return []
            found.append(({"name": devices[0].name}, kind))
    return found  # a kind word beside a name ("the purifier fan") only repeats it


def _action(said: _Said, colors: list[str], kinds: set[str]) -> tuple[str, dict] | None:
    """The one action the words ask for, as (intent name, slots); None when none is, or two disagree."""
    cues = said.cues
    number = said.numbers[0] if len(said.numbers) == 1 else None
    if len(said.numbers) > 1:
        return None
    family = set()
    if colors:
        family.add("color")
    if "kelvin" in cues or "ct_step" in cues or "kelvin_word" in cues:
        family.add("ct")
    if "level" in cues or "mode" in cues or (number is not None and not said.by_number):
        family.add("level")
    if "step" in cues:
        family.add("step")
    if "off" in cues:
        family.add("off")
    if "stop" in cues:
        family.add("stop")
    if "close" in cues or "open" in cues:
        family.add("cover")
    if not family and ("up" in cues or "down" in cues):
        family.add("step")
    if not family and "on" in cues:
        family.add("on")
    if ("small" in cues or "big" in cues) and not family & {"step", "ct"} and not ("up" in cues or "down" in cues):
        return None  # "on a little": a little of what?
    if said.by_number and not ("step" in family or (not family and ("up" in cues or "down" in cues))):
        return None  # "lamp by 30 percent": by 30 more, or less?
    if not family and not cues and kinds == {"scene"}:
        family.add("on")  # "can we have movie night"
    if "open" in cues and "level" in family and kinds == {"cover"}:
        family.discard("cover")  # "open the blinds to 30 percent"
    if len(family) != 1 or ("up" in cues and "down" in cues) or ("open" in cues and "close" in cues):
        return None
    if said.switch and ("up" in cues or "down" in cues):
        return None  # "switch up" is one vowel from "switch off": nobody says it, recognizers hear it
    (what,) = family
    if what == "color":
        return ("HassLightSet", {"color": colors[0]}) if len(set(colors)) == 1 else None
    if what == "ct":
        if "ct_step" in cues:
            return "HassLightSet", {"color_temp_step_kelvin": cues["ct_step"]}
        if "kelvin_word" in cues:
            return ("HassLightSet", {"color_temp_kelvin": number}) if number is not None else None
        return "HassLightSet", {"color_temp_kelvin": cues["kelvin"]}
    if what == "level":
        return _level(cues, number, kinds)
    if what == "step":
        sign = cues.get("step") or (1 if "up" in cues else -1)
        if kinds == {"cover"}:
            return ("HassTurnOn", {}) if sign > 0 else ("HassTurnOff", {})
        if "step" not in cues and not said.turned and "small" not in cues and "big" not in cues:
            return None  # "lights up in the kitchen": on, or brighter? Asking beats guessing
        size = number if said.by_number and number is not None else 10 if "small" in cues else 25
        if not 1 <= size <= 100:
            return None
        return "HassLightSet", {"brightness_step": sign * size}
    if what == "cover":
        return ("HassTurnOn", {}) if "open" in cues else ("HassTurnOff", {})
    if what == "stop":
        return "HassStopMoving", {}
    return ("HassTurnOn", {}) if what == "on" else ("HassTurnOff", {})


def _level(cues: dict, number: int | None, kinds: set[str]) -> tuple[str, dict] | None:
    if kinds == {"purifier"}:
        if "mode" in cues:
            return "SetFanMode", {"fan_mode": cues["mode"]}
        if number is not None and 1 <= number <= 9 and "percent" not in cues:
            return "SetFanMode", {"fan_mode": str(number)}
        level = cues.get("level")
        if level in (1, 100) and number is None:
            return "SetFanMode", {"fan_mode": "9" if level == 100 else "1"}
        return None
    if "mode" in cues:
        return None
    value = number if number is not None else cues.get("level")
    if value is None or not 0 <= value <= 100:
        return None
    if number is not None and "percent" not in cues and "level" not in cues:
        return None  # "set the lamp to 40": forty what? The templates know which numbers stand alone.
    if kinds == {"cover"}:
        return "HassSetPosition", {"position": value}
    return "HassLightSet", {"brightness": value}


_FITS = {"HassLightSet": {"light"}, "HassSetPosition": {"cover"}, "HassStopMoving": {"cover"},
         "SetFanMode": {"purifier"}}


def _fits(name: str, slots: dict, kind: str) -> bool:
    allowed = _FITS.get(name)
    return allowed is None or kind in allowed


_ATTRIBUTES = {"brightness": "brightness", "color_temp": "color_temp", "position": "position"}


def _query(registry, said: _Said, area: str | None, words: str) -> tuple[Intent, ...] | None:
    """ "is the desk lamp switched on", "did I leave the coffee machine on", "what's the brightness of ...":
    questions change nothing, so they are read a little more freely than commands."""
    if any(w not in QUERY_EMPTY for w in said.unknown):
        return None
    targets = _targets(registry, said, area)
    if len(targets) != 1 or targets[0][1] == "scene":
        return None
    target, kind = targets[0]
    cues = {k for k in said.cues if k not in ("all", "house", "here")}
    if cues <= {"on", "off", "open", "close"} and len(cues) == 1:
        (state,) = cues
        expected = {"on": "ON", "off": "OFF", "open": "OPEN", "close": "CLOSE"}[state]
        return (Intent("HassGetState", {**target, "attribute": "state", "expected": expected}, words, "own",
                       CONFIDENCE),)
    attribute = said.cues.get("attr")
    if "speed_word" in said.cues and kind == "purifier" and len(cues - {"on"}) == 1:
        attribute = "fan_mode"
    elif attribute is None or len(cues - {"on", "attr"}) > 0:
        return None
    return (Intent("HassGetState", {**target, "attribute": _ATTRIBUTES.get(attribute, attribute)}, words, "own",
                   CONFIDENCE),)
