"""Home Assistant's English sentence library (the home-assistant-intents package), read with hassil.

Only the templates for what this home has are kept: lights, switches (outlets), covers (blinds), fans (the
purifier), scenes, their state questions, and "never mind". The templates of what this assistant does not do
(timers, weather, the time, media, lists, climate, ...) are kept too, apart, so that such a request is known
for what it is instead of being matched to the nearest light command.

A match comes back in HA's own terms (HassTurnOff with name/area/floor/domain/device_class ...) and is
translated here into the intent schema the device planner takes.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from ..messages import Intent

if TYPE_CHECKING:
    from ..messages import HomeNames

log = logging.getLogger(__name__)

COMMANDS = ("HassTurnOn", "HassTurnOff", "HassLightSet", "HassSetPosition", "HassFanSetSpeed", "HassGetState",
            "HassNevermind")
# HA's domain for each kind of device here (a purifier is a fan to Home Assistant, an outlet a switch)
HA_DOMAIN = {"light": "light", "outlet": "switch", "cover": "cover", "purifier": "fan"}  # by device kind
DOMAINS = frozenset(HA_DOMAIN.values()) | {"scene"}
# What each out-of-domain intent is about, as said back to the person ("I can't do timers here").
OUT_OF_DOMAIN = {
    "Timer": "timers", "Weather": "the weather", "CurrentTime": "the time", "CurrentDate": "the date",
    "Media": "music and media", "Volume": "music and media", "List": "lists", "Climate": "heating",
    "Vacuum": "vacuum cleaners", "LawnMower": "lawn mowers", "Broadcast": "announcements",
}
# Cover device classes a FYRTUR-style roller blind answers to; a garage door or gate is not one.
BLIND_CLASSES = frozenset({"blind", "shade", "curtain", "shutter", "awning"})


@dataclass(frozen=True, eq=False)
class HaLanguage:
    commands: Any  # hassil.Intents: the templates for this home's domains
    other: Any  # hassil.Intents: what this assistant does not do
    slot_lists: Mapping[str, Any]  # name (with domain context), area, floor: from the registry
    version: str


def load_ha_language(registry: HomeNames, language: str = "en") -> HaLanguage:
    from hassil import Intents
    from home_assistant_intents import get_intents

    data = get_intents(language)
    if data is None:
        from ..errors import ConfigError

        raise ConfigError(f"home-assistant-intents has no sentences for language {language!r}")
    commands, other = {}, {}
    for name, block in data["intents"].items():
        if name in COMMANDS:
            kept = [item for item in block["data"] if _for_this_home(item)]
            if kept:
                commands[name] = {**block, "data": kept}
        elif about(name) is not None:
            other[name] = block
    base = {k: v for k, v in data.items() if k != "intents"}
    return HaLanguage(Intents.from_dict({**base, "intents": commands}), Intents.from_dict({**base, "intents": other}),
                      slot_lists(registry), _version())


def about(intent_name: str) -> str | None:
    """What an out-of-domain HA intent is about ("timers"), or None for one of this home's commands."""
    if intent_name in COMMANDS:
        return None
    return next((what for key, what in OUT_OF_DOMAIN.items() if key in intent_name), None)


def _domains(item: Mapping[str, Any]) -> set[str]:
    found = set()
    for key in ("requires_context", "slots"):
        value = (item.get(key) or {}).get("domain")
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list):
            found.update(value)
    return found


def _for_this_home(item: Mapping[str, Any]) -> bool:
    """Keep templates for this home's domains and domain-free ones; drop sensors, locks, media, ..."""
    domains = _domains(item)
    return not domains or bool(domains & DOMAINS)


def slot_lists(registry: HomeNames) -> dict[str, Any]:
    """HA's name/area/floor lists, with each name's HA domain in its context, as HA builds them."""
    from hassil import TextSlotList

    names = [(say, device.name, {"domain": HA_DOMAIN[device.kind]})
             for device in registry.devices.values() for say in device.say]
    for group in registry.groups.values():
        kinds = {registry.devices[m].kind for m in group.members}
        domain = HA_DOMAIN[kinds.pop()] if len(kinds) == 1 else "group"
        names += [(say, group.name, {"domain": domain}) for say in group.say]
    names += [(say, scene.name, {"domain": "scene"}) for scene in registry.scenes.values() for say in scene.say]
    return {
        "name": TextSlotList.from_tuples(names, allow_template=False),
        "area": TextSlotList.from_strings(registry.areas, allow_template=False),
        "floor": TextSlotList.from_strings(tuple(registry.floors), allow_template=False),
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("home-assistant-intents")
    except PackageNotFoundError:
        return "unknown"


def translate(name: str, slots: Mapping[str, Any], registry: HomeNames, text: str,
              confidence: float = 1.0) -> tuple[Intent, ...] | str:
    """HA's intent and slots -> this assistant's intents, or why it cannot be done in this home."""
    slots = dict(slots)
    domain = slots.pop("domain", None)
    device_class = slots.pop("device_class", None)
    if isinstance(domain, list):
        domain = domain[0] if len(domain) == 1 else None
    target: dict[str, Any] = {}
    value = slots.pop("name", None)
    if value is not None:
        if value in registry.scenes:
            return (Intent("HassTurnOn", {"scene": value}, text, "ha", confidence),) if name == "HassTurnOn" else \
                f"a scene can only be started"
        if value in registry.groups:
            target["group"] = value
        elif value in registry.devices:
            target["name"] = value
        elif value == "all":
            pass
        else:
            return f"there is no {value!r} here"
    if domain == "cover" and device_class is not None and device_class not in BLIND_CLASSES:
        return f"there is no {device_class.replace('_', ' ')} here"
    if domain in ("light", "switch", "cover", "fan") and "name" not in target:
        target["domain"] = domain
    if domain == "scene":
        return "that scene is not in this home"
    areas = [slots.pop("area")] if "area" in slots else []
    if "floor" in slots:
        floor = slots.pop("floor")
        areas = list(registry.floors.get(floor, ()))
        if not areas:
            return f"no areas are on {floor!r}"
    values = _values(name, slots, text)
    if isinstance(values, str):
        return values
    kinds = {domain: kind for kind, domain in HA_DOMAIN.items()}  # HA domain -> device kind
    for area in areas:
        device = registry.devices.get(target.get("name", ""))
        if device is not None and device.area != area:
            return f"the {device.spoken} is not in the {area}"  # never one of the two by guess
        if "name" not in target and "group" not in target and target.get("domain") in kinds and \
                not any(d.kind == kinds[target["domain"]] for d in registry.in_area(area)):
            return f"there is no {target['domain']} in the {area}"
    out_name = "SetFanMode" if name == "HassFanSetSpeed" else name
    if name == "HassTurnOn" and "name" not in target and "group" not in target and target.get("domain") is None:
        target["domain"] = "light"  # HA's "turn on the kitchen" lights it up
    if not areas:
        return (Intent(out_name, {**target, **values}, text, "ha", confidence),)
    return tuple(Intent(out_name, {**target, "area": area, **values}, text, "ha", confidence) for area in areas)


def _values(name: str, slots: Mapping[str, Any], text: str) -> dict[str, Any] | str:
    """The value slots of HA's intents in this assistant's terms."""
    if name in ("HassTurnOn", "HassTurnOff", "HassNevermind"):
        return {}
    if name == "HassLightSet":
        if "brightness" in slots:
            return {"brightness": int(round(float(slots["brightness"])))}
        if "color" in slots:
            return {"color": str(slots["color"])}
        if "temperature" in slots:
            return {"color_temp_kelvin": int(round(float(slots["temperature"])))}
        return "HA's light setting without a value"
    if name == "HassSetPosition":
        return {"position": int(round(float(slots["position"])))} if "position" in slots else "no position said"
    if name == "HassFanSetSpeed":
        percentage = float(slots.get("percentage", -1))
        if not 0 <= percentage <= 100:
            return "no fan speed said"
        if "percent" not in text.split():
            # HA reads "speed 5" as 5 %; a STARKVIND's speeds are 1-9, and that is what "speed 5" means here.
            if 1 <= percentage <= 9:
                return {"fan_mode": str(int(percentage))}
            from .ranges import numbers_in

            said = next((" ".join(text.split()[a:b]) for a, b, v in numbers_in(text.split()) if v == percentage),
                        str(int(percentage)))
            return f"{said} is out of range: fan_mode takes 1-9"
        # A STARKVIND has speeds 1-9: 0 % is off, anything above is the nearest speed, at least 1.
        return {"fan_mode": "off" if percentage == 0 else str(max(1, math.ceil(percentage * 9 / 100 - 0.5)))}
    if name == "HassGetState":
        state = slots.get("state")
        if state is None:
            return "that question"
        expected = {"on": "ON", "off": "OFF", "open": "OPEN", "closed": "CLOSE"}.get(str(state).lower())
        return {"attribute": "state", "expected": expected} if expected else f"whether it is {state}"
    return f"HA's {name}"
