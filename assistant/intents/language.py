"""Load config/sentences/<lang>.yaml, check it, and fill its slot lists from the home's names (HomeNames).

The result, a Language, is the one source the matcher, the grammars and the round-trip tests share.
Any problem in the sentence file is a ConfigError naming the file, the line and what is wrong.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..config import DEFAULT_CONFIG_DIR, Settings, YamlDoc, load_yaml
from ..errors import ConfigError
from ..messages import HomeNames
from ..numbers import number_words
from .ranges import NumberRange

log = logging.getLogger(__name__)

# The intent schema shared with the device dispatcher (see the project contract).
INTENTS = ("HassTurnOn", "HassTurnOff", "HassLightSet", "HassSetPosition", "HassStopMoving", "SetFanMode",
           "HassGetState", "HassNevermind")
SLOTS = ("name", "group", "area", "domain", "scene", "brightness", "brightness_step", "color_temp_kelvin",
         "color_temp_step_kelvin", "color", "position", "fan_mode", "attribute", "expected")
REGISTRY_LISTS = ("devices", "lights", "covers", "outlets", "purifiers", "groups", "areas", "scenes")
def in_grammar(data) -> bool:
    """Whether a block of sentences (hassil IntentData) is in the recognizers' grammar: not when its
    metadata says grammar: false (understood in text only)."""
    return (data.metadata or {}).get("grammar", True) is not False


PREVIOUS = "@previous"  # slot value of "it": the matcher replaces it with the previous device
HERE = "@here"  # slot value of "in here": the matcher replaces it with the microphone's area

_WORD_RE = re.compile(r"^[a-z][a-z']*$")
_TEMPLATE_CHARS = set("()[]{}<>|:")


@dataclass(frozen=True, eq=False)  # compared and hashed by identity (the matcher caches per Language)
class Language:
    """Sentence templates with their slot lists filled from this home's registry."""

    code: str
    path: Path
    home: HomeNames
    intents: Any  # hassil.Intents (kept untyped so importing this module does not need hassil)
    ranges: Mapping[str, NumberRange] = field(default_factory=dict)  # range list name -> its numbers
    range_slots: Mapping[str, frozenset[str]] = field(default_factory=dict)  # slot -> range lists that fill it
    ha: Any = None  # intents.ha.HaLanguage: Home Assistant's sentences for this home, or None (own file only)

    @property
    def slot_lists(self) -> dict:
        return self.intents.slot_lists


def load_language(settings: Settings, home: HomeNames) -> Language:
    """The sentence templates for settings.speech.language, filled from `home` (the device registry's
    names: the wiring passes registry.names()), checked at startup."""
    config_dir = Path(settings.config_dir)
    path = config_dir / "sentences" / f"{settings.speech.language}.yaml"
    if not path.exists():
        raise ConfigError(f"{path}: no sentence file for speech.language {settings.speech.language!r}; copy "
                          f"{DEFAULT_CONFIG_DIR / 'sentences' / 'en.yaml'} there, or set speech.language in "
                          f"{config_dir / 'assistant.yaml'} (it picks sentences/<language>.yaml)")
    area = settings.satellite.area
    if area is not None and area not in home.areas:
        raise ConfigError(f"{config_dir / 'assistant.yaml'}: satellite.area {area!r} is no area of "
                          f"{home.source}; expected one of {', '.join(home.areas)}")
    language = language_from_file(path, home)
    if language.ha is not None:
        from .fuzzy import warm_up

        warm_up(language)  # built now, so the first command does not wait for it
    return language


def language_from_file(path: Path | str, home: HomeNames, with_ha: bool = True) -> Language:
    """Our sentence file, plus Home Assistant's sentences for the same home unless with_ha is False."""
    doc = load_yaml(path)
    data = _check_top(doc)
    from hassil import Intents

    lists = {name: _build_list(doc, name, spec, home) for name, spec in data.get("lists", {}).items()}
    rules = {name: _parse(doc, body, "expansion_rules", name) for name, body in data.get("expansion_rules", {}).items()}
    for name, body in data.get("expansion_rules", {}).items():
        _check_refs(doc, rules[name], lists, rules, ("expansion_rules", name))
    _check_rule_cycles(doc, rules)
    intents_in = data["intents"]
    parsed = list(rules.values())  # every template, for which slots the range lists fill
    for intent, block in intents_in.items():
        if intent not in INTENTS:
            raise doc.error(f"unknown intent; expected one of {', '.join(INTENTS)}", "intents", intent)
        if not isinstance(block, dict) or not isinstance(block.get("data"), list) or not block["data"]:
            raise doc.error("expected 'data:' with a list of {sentences, slots} blocks", "intents", intent)
        for i, item in enumerate(block["data"]):
            where = ("intents", intent, "data", i)
            if not isinstance(item, dict) or set(item) - {"sentences", "slots", "metadata"}:
                raise doc.error("expected a mapping with 'sentences' and optional 'slots', 'metadata'", *where)
            metadata = item.get("metadata", {})
            if not isinstance(metadata, dict) or set(metadata) - {"grammar"} or \
                    not isinstance(metadata.get("grammar", True), bool):
                raise doc.error("expected {grammar: false} (understood in text, left out of the recognizer "
                                "grammar) or nothing", *where, "metadata")
            sentences = item.get("sentences")
            if not isinstance(sentences, list) or not sentences:
                raise doc.error("expected a list of sentence templates", *where, "sentences")
            for j, text in enumerate(sentences):
                parsed.append(_parse(doc, text, *where, "sentences", j))
                _check_refs(doc, parsed[-1], lists, rules, where + ("sentences", j))
            slots = item.get("slots") or {}
            if not isinstance(slots, dict):
                raise doc.error("expected a mapping of slot: value", *where, "slots")
            for slot in slots:
                if slot not in SLOTS:
                    raise doc.error(f"unknown slot; expected one of {', '.join(SLOTS)}", *where, "slots", slot)
    hassil_dict = {
        "language": data.get("language", "en"),
        "lists": {name: {"values": values} for name, values in lists.items()},
        "expansion_rules": data.get("expansion_rules", {}),
        "intents": intents_in,
    }
    try:
        intents = Intents.from_dict(hassil_dict)
    except Exception as exc:  # checked above; anything left is still the file's fault
        raise ConfigError(f"{doc.path}: cannot load sentence templates: {exc}") from None
    log.debug("loaded %d intents and %d lists from %s", len(intents.intents), len(lists), doc.path)
    ranges = {name: NumberRange(spec["range"]["from"], spec["range"]["to"], spec["range"].get("step", 1),
                                spec["range"].get("multiplier", 1))
              for name, spec in data.get("lists", {}).items() if "range" in spec}
    ha = None
    if with_ha:
        from .ha import load_ha_language

        ha = load_ha_language(home, str(hassil_dict["language"]))
    return Language(str(hassil_dict["language"]), Path(doc.path), home, intents, ranges,
                    _range_slots(parsed, ranges), ha)


def _range_slots(templates: list, ranges: Mapping[str, NumberRange]) -> dict[str, frozenset[str]]:
    from hassil import ListReference

    slots: dict[str, set[str]] = {}
    for template in templates:
        for node in _walk(template.expression):
            if isinstance(node, ListReference) and node.list_name in ranges:
                slots.setdefault(node.slot_name, set()).add(node.list_name)
    return {slot: frozenset(names) for slot, names in slots.items()}


def _check_top(doc: YamlDoc) -> dict:
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error("expected a mapping with language, lists, expansion_rules, intents")
    for key in data:
        if key not in ("language", "lists", "expansion_rules", "intents"):
            raise doc.error("unknown key; expected language, lists, expansion_rules, intents", key)
    for key in ("lists", "expansion_rules"):
        if not isinstance(data.get(key, {}), dict):
            raise doc.error("expected a mapping", key)
    if not isinstance(data.get("intents"), dict) or not data["intents"]:
        raise doc.error("expected a mapping of intents", "intents")
    for name, body in data.get("expansion_rules", {}).items():
        if not isinstance(body, str):
            raise doc.error("expected a template string", "expansion_rules", name)
    return data


def _parse(doc: YamlDoc, text: Any, *where: Any):
    from hassil import parse_sentence

    if not isinstance(text, str) or not text.strip():
        raise doc.error(f"expected a sentence template, got {text!r}", *where)
    problem = _bracket_problem(text)
    if problem is not None:  # hassil's own message for these quotes its parser's internals
        raise doc.error(problem, *where)
    try:
        return parse_sentence(text, keep_text=True)
    except Exception as exc:
        log.debug("hassil cannot parse %r: %r", text, exc)
        raise doc.error(f"cannot parse template {text!r}; check its (a|b), [optional], {{list}} and <rule> parts",
                        *where) from None


_CLOSING = {"(": ")", "[": "]", "{": "}", "<": ">"}


def _bracket_problem(text: str) -> str | None:
    """What is wrong with a template's brackets ("unbalanced ( in template ..."), or None when they pair up."""
    opened: list[tuple[str, int]] = []
    for i, char in enumerate(text):
        if char in _CLOSING:
            opened.append((char, i))
        elif char in _CLOSING.values():
            if not opened:
                return f"unbalanced {char} in template {text!r}: nothing opens it"
            opener, at = opened.pop()
            if _CLOSING[opener] != char:
                return f"unbalanced {opener} in template {text!r}: closed by {char} instead of {_CLOSING[opener]}"
            if not text[at + 1:i].strip():
                return f"empty {opener}{char} in template {text!r}"
    if opened:
        opener = opened[-1][0]
        return f"unbalanced {opener} in template {text!r}: no {_CLOSING[opener]} closes it"
    return None


def _walk(expression):
    from hassil import Group

    yield expression
    if isinstance(expression, Group):
        for item in expression.items:
            yield from _walk(item)


def _check_refs(doc: YamlDoc, sentence, lists: dict, rules: dict, where: tuple) -> None:
    from hassil import ListReference, RuleReference, TextChunk

    for node in _walk(sentence.expression):
        if isinstance(node, ListReference):
            if node.list_name not in lists:
                raise doc.error(f"unknown list {{{node.list_name}}}; define it under lists:", *where)
            if node.slot_name not in SLOTS:
                raise doc.error(f"unknown slot {node.slot_name!r}; expected one of {', '.join(SLOTS)}", *where)
        elif isinstance(node, RuleReference) and node.rule_name not in rules:
            raise doc.error(f"unknown rule <{node.rule_name}>; define it under expansion_rules:", *where)
        elif isinstance(node, TextChunk):
            for word in node.text.split():
                if not _WORD_RE.match(word):
                    raise doc.error(f"{word!r} is not a plain lowercase word (a-z and ')", *where)


def _check_rule_cycles(doc: YamlDoc, rules: dict) -> None:
    from hassil import RuleReference

    refs = {name: {n.rule_name for n in _walk(s.expression) if isinstance(n, RuleReference)} for name, s in rules.items()}

    def visit(name: str, stack: tuple[str, ...]) -> None:
        if name in stack:
            raise doc.error(f"rule refers to itself: {' -> '.join(stack + (name,))}", "expansion_rules", stack[0])
        for ref in refs.get(name, ()):
            visit(ref, stack + (name,))

    for name in rules:
        visit(name, ())


def _build_list(doc: YamlDoc, name: str, spec: Any, home: HomeNames) -> list[dict]:
    where = ("lists", name)
    if not isinstance(spec, dict) or len(set(spec) & {"registry", "range", "values"}) != 1 or len(spec) != 1:
        raise doc.error("expected exactly one of registry:, range:, values:", *where)
    if "registry" in spec:
        return _registry_values(doc, spec["registry"], home, where)
    if "range" in spec:
        return _range_values(doc, spec["range"], where)
    values = spec["values"]
    if not isinstance(values, list) or not values:
        raise doc.error("expected a list of values", *where, "values")
    out = []
    for i, value in enumerate(values):
        if isinstance(value, str):
            value = {"in": value, "out": value}
        if not isinstance(value, dict) or set(value) != {"in", "out"} or not isinstance(value["in"], str):
            raise doc.error("expected a word or {in: template, out: value}", *where, "values", i)
        _check_refs(doc, _parse(doc, value["in"], *where, "values", i), {}, {}, where + ("values", i))
        out.append(dict(value))
    return out


def _registry_values(doc: YamlDoc, kind: Any, home: HomeNames, where: tuple) -> list[dict]:
    kinds = {"lights": "light", "covers": "cover", "outlets": "outlet", "purifiers": "purifier"}
    if kind == "devices" or kind in kinds:
        devices = home.devices.values() if kind == "devices" else home.of_kind(kinds[kind])
        pairs = [(say, d.name) for d in devices for say in d.say]
    elif kind == "groups":
        pairs = [(say, g.name) for g in home.groups.values() for say in g.say]
    elif kind == "areas":
        pairs = [(area, area) for area in home.areas]
    elif kind == "scenes":
        pairs = [(say, s.name) for s in home.scenes.values() for say in s.say]
    else:
        raise doc.error(f"unknown registry list {kind!r}; expected one of {', '.join(REGISTRY_LISTS)}", *where)
    if not pairs:
        log.info("%s: list %s is empty for this home", doc.path, where[-1])
    # hassil treats an "in" with template characters as a template; registry names are plain words.
    return [{"in": say, "out": out} for say, out in pairs if not _TEMPLATE_CHARS & set(say)]


def _range_values(doc: YamlDoc, spec: Any, where: tuple) -> list[dict]:
    if not isinstance(spec, dict) or not {"from", "to"} <= set(spec) or set(spec) - {"from", "to", "step", "multiplier"}:
        raise doc.error("expected {from: N, to: N} with optional step and multiplier", *where, "range")
    numbers = [spec.get(k, 1) for k in ("from", "to", "step", "multiplier")]
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        raise doc.error("from, to, step and multiplier must be whole numbers", *where, "range")
    start, stop, step, multiplier = numbers
    if not 0 <= start <= stop <= 9999 or step < 1:
        raise doc.error("expected 0 <= from <= to <= 9999 and step >= 1", *where, "range")
    return [{"in": "(" + "|".join(number_words(n) + (str(n),)) + ")", "out": n * multiplier}
            for n in range(start, stop + 1, step)]
