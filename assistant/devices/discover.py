"""Build a registry from what a running Zigbee2MQTT publishes (bridge/devices, bridge/groups), so a home
with real IKEA devices needs no hand-written devices.yaml. Pure: JSON in, YAML text and Registry out."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Callable

import yaml

from ..config import YamlDoc
from .catalog import CATALOG
from .registry import Registry, name_problem, registry_from_doc, say_problem
from .spoken import Unspeakable, speakable, try_speakable

log = logging.getLogger(__name__)

ROOMS = ("living room", "dining room", "kitchen", "bedroom", "bathroom", "office", "study", "hallway", "hall",
         "garage", "garden", "nursery", "attic", "basement", "porch", "landing", "kids room", "guest room")
# Closest catalog model for a device we do not know, by what it exposes.
_STAND_IN = {"light_color": "LED1924G9", "light_color_temp": "LED1545G12", "light": "LED1836G9",
             "switch": "E1603", "cover": "E1757", "fan": "E2007"}


def _features(exposes: list[Any]) -> tuple[str | None, set[str]]:
    kind, props = None, set()
    for item in exposes or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") in ("light", "switch", "cover", "fan") and kind is None:
            kind = item["type"]
        for feature in item.get("features") or []:
            if isinstance(feature, dict):
                props.add(str(feature.get("property") or feature.get("name")))
    return kind, props


def _model_for(definition: dict[str, Any]) -> tuple[str | None, str]:
    """(catalog model or None, note for the YAML comment)."""
    model = str(definition.get("model", ""))
    if model in CATALOG:
        return model, ""
    kind, props = _features(definition.get("exposes", []))
    if kind == "light":
        kind = "light_color" if "color" in props else ("light_color_temp" if "color_temp" in props else "light")
    stand_in = _STAND_IN.get(kind or "")
    vendor = definition.get("vendor", "?")
    return stand_in, f"{vendor} {model} handled like {stand_in}" if stand_in else ""


def _area(name: str, description: Any) -> str | None:
    spoken = try_speakable(name) or ""
    for room in ROOMS:
        if re.search(rf"\b{room}\b", spoken):
            return room
    if isinstance(description, str) and re.fullmatch(r"[a-z][a-z ]{0,30}", description.strip().lower()):
        return description.strip().lower()
    return None


class _SpokenNames:
    """The spoken names handed out so far, and the words the speech recognizer has no pronunciation for."""

    def __init__(self, unknown_words: set[str]):
        self.owners: dict[str, str] = {}  # spoken name -> the friendly name it belongs to
        self.unknown_words = unknown_words

    def check(self, name: str) -> tuple[str, str | None]:
        """(spoken name, None), or ("", why `name` cannot have one, with the fix)."""
        try:
            say = speakable(name)
        except Unspeakable as exc:
            return "", f"{exc}; rename it in Zigbee2MQTT, or add it to devices.yaml by hand with a say: list"
        if say in self.owners:
            return "", (f"its spoken name {say!r} is already taken by {self.owners[say]!r}; rename one of them in "
                        "Zigbee2MQTT, or add it to devices.yaml by hand with another say:")
        problem = say_problem(say)
        if problem:
            return "", f"its spoken name {say!r} {problem}; add it to devices.yaml by hand with a shorter say:"
        unknown = [w for w in say.split() if w in self.unknown_words]
        if unknown:
            return "", (f"its spoken name {say!r} has words PocketSphinx's English dictionary does not know "
                        f"({', '.join(unknown)}); rename it in Zigbee2MQTT, or add it to devices.yaml by hand "
                        "with a say: of English words")
        return say, None

    def claim(self, name: str) -> tuple[str, str | None]:
        say, problem = self.check(name)
        if not problem:
            self.owners[say] = name
        return say, problem


def _scenes(group: dict[str, Any]) -> list[dict[str, Any]]:
    return [scene for scene in group.get("scenes") or [] if isinstance(scene, dict)]


def _scene_name(scene: dict[str, Any]) -> str:
    return re.sub(r"[^\w \-.]", "", str(scene.get("name", ""))).strip() or f"scene {scene.get('id')}"


def _unknown_words(devices: list[Any], groups: list[Any],
                   missing_words: Callable[[set[str]], set[str]] | None) -> set[str]:
    """Every word of every spoken name to come, looked up once (reading the dictionary takes a moment)."""
    if missing_words is None:
        return set()
    entries = [e for e in (devices if isinstance(devices, list) else []) + (groups if isinstance(groups, list) else [])
               if isinstance(e, dict)]
    names = [str(e.get("friendly_name", "")) for e in entries]
    names += [_scene_name(scene) for e in entries for scene in _scenes(e)]
    words = {w for n in names for w in (try_speakable(n) or "").split()}
    return set(missing_words(words)) if words else set()


def _group_problem(name: str, listed: list[str], members: list[str], devices: dict[str, Any],
                   names_of: dict[str, str]) -> str | None:
    """Why a group cannot be kept, apart from its spoken name, or None."""
    if not listed:
        return "it has no members in Zigbee2MQTT"
    if not members:
        left_out = ", ".join(names_of.get(m, m) for m in listed)
        return f"none of its members ({left_out}) is a device kept here"
    if problem := name_problem(name):
        return f"{problem}; rename it in Zigbee2MQTT"
    if name in devices:
        return "a device has the same friendly name; rename one of them in Zigbee2MQTT"
    return None


def registry_data(devices: list[Any], groups: list[Any], base_topic: str,
                  missing_words: Callable[[set[str]], set[str]] | None = None) -> tuple[dict[str, Any], list[str]]:
    """(registry mapping as devices.yaml holds it, notes about what was skipped or guessed). missing_words
    says which words the speech recognizer cannot pronounce (None: no check)."""
    notes: list[str] = []
    out_devices: dict[str, Any] = {}
    by_ieee: dict[str, str] = {}
    unknown = _unknown_words(devices, groups, missing_words)
    spoken, scene_names = _SpokenNames(unknown), _SpokenNames(unknown)
    for entry in devices if isinstance(devices, list) else []:
        if not isinstance(entry, dict) or entry.get("type") == "Coordinator":
            continue
        name = str(entry.get("friendly_name", ""))
        definition = entry.get("definition")
        if not isinstance(definition, dict):
            notes.append(f"skipped {name}: not supported by Zigbee2MQTT (no definition)")
            continue
        if re.fullmatch(r"0x[0-9a-fA-F]+", name):
            notes.append(f"skipped {name}: it has no friendly name yet; give it one in Zigbee2MQTT")
            continue
        problem = name_problem(name)
        if problem:
            notes.append(f"skipped {name}: {problem}; rename it in Zigbee2MQTT")
            continue
        model, note = _model_for(definition)
        if model is None:
            notes.append(f"skipped {name}: {definition.get('model')} is not a light, outlet, blind or fan")
            continue
        if note:
            notes.append(f"{name}: {note}")
        say, problem = spoken.claim(name)
        if problem:
            notes.append(f"skipped {name}: {problem}")
            continue
        area = _area(name, entry.get("description"))
        item: dict[str, Any] = {"model": model}
        if area:
            item["area"] = area
        item["say"] = [say]
        out_devices[name] = item
        by_ieee[str(entry.get("ieee_address"))] = name
    names_of = {str(e.get("ieee_address")): str(e.get("friendly_name", ""))  # every device listed, kept or not
                for e in (devices if isinstance(devices, list) else []) if isinstance(e, dict)}
    out_groups: dict[str, Any] = {}
    out_scenes: dict[str, Any] = {}
    for entry in groups if isinstance(groups, list) else []:
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("friendly_name", ""))
        listed = [str(m.get("ieee_address")) for m in entry.get("members") or [] if isinstance(m, dict)]
        members = [by_ieee[m] for m in listed if m in by_ieee]
        problem = _group_problem(name, listed, members, out_devices, names_of)
        if problem is None:
            say, problem = spoken.claim(name)
        if problem:
            notes.append(f"skipped group {name}: {problem}")
            continue
        out_groups[name] = {"id": int(entry.get("id", len(out_groups) + 1)), "say": [say], "members": members}
        for scene in _scenes(entry):
            scene_name = _scene_name(scene)
            if scene_name in out_scenes:
                scene_problem: str | None = f"another scene is already called {scene_name!r}"
            elif scene_problem := name_problem(scene_name):
                scene_problem += "; rename it in Zigbee2MQTT"
            else:
                scene_say, scene_problem = scene_names.claim(scene_name)  # scenes have names of their own
            if scene_problem:
                notes.append(f"skipped scene {scene_name!r} of {name}: {scene_problem}")
                continue
            out_scenes[scene_name] = {"id": int(scene.get("id", 0)), "group": name, "say": [scene_say],
                                      "states": {}}
    data: dict[str, Any] = {"base_topic": base_topic, "devices": out_devices}
    if out_groups:
        data["groups"] = out_groups
    if out_scenes:
        data["scenes"] = out_scenes
    return data, notes


def registry_from_bridge(devices: list[Any], groups: list[Any], base_topic: str, source: str = "broker",
                         missing_words: Callable[[set[str]], set[str]] | None = None
                         ) -> tuple[Registry, str, list[str]]:
    """(validated Registry, devices.yaml text, notes). Raises ConfigError if nothing usable was found."""
    data, notes = registry_data(devices, groups, base_topic, missing_words)
    registry = registry_from_doc(YamlDoc(Path(source), data, {}))
    header = ("# Built by 'assistant devices --from-broker' from Zigbee2MQTT's bridge/devices and bridge/groups.\n"
              "# Edit 'say' (what people call each device) and 'area' freely.\n")
    notes_text = "".join(f"# note: {n}\n" for n in notes)
    text = header + notes_text + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return registry, text, notes
