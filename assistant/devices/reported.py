"""A device's reported state, as published by the bridge, reduced to values the planner can trust.

State payloads come from the network: another client (or a bug) may publish a retained
`{"brightness": "full"}` or a megabyte of JSON on a device's topic. The planner does arithmetic on
brightness and colour temperature, so anything outside the model's catalog ranges is dropped here
instead of crashing a turn later.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from .catalog import CATALOG, ModelSpec

MAX_STATE_BYTES = 16 * 1024  # a real Zigbee2MQTT state is a few hundred bytes
_MAX_TEXT = 200
# Names that mean something to the planner or to state questions; on a model without them they are noise.
_KNOWN = frozenset(name for spec in CATALOG.values() for name in spec.attributes)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int) and abs(value) > 1 << 53:  # JSON allows 400-digit integers; floats do not
        return None
    return float(value) if math.isfinite(value) else None


def clean_state(spec: ModelSpec, reported: Mapping[str, Any]) -> dict[str, Any]:
    """Keep catalog attributes whose values fit the model, plus short plain extras (linkquality...)."""
    out: dict[str, Any] = {}
    for key, value in reported.items():
        if not isinstance(key, str) or len(key) > 64:
            continue
        attr = spec.attributes.get(key)
        if attr is None and key in _KNOWN:
            continue  # e.g. "brightness" on an outlet
        if attr is None:
            if value is None or isinstance(value, bool) or (isinstance(value, str) and len(value) <= _MAX_TEXT):
                out[key] = value
            elif isinstance(value, (int, float)) and _number(value) is not None:
                out[key] = value
            continue
        if attr.kind == "enum":
            if isinstance(value, str) and value in attr.values:
                out[key] = value
        elif attr.kind == "numeric":
            number = _number(value)
            if number is not None and attr.minimum <= number <= attr.maximum:
                out[key] = int(round(number))
        elif attr.kind == "color" and isinstance(value, dict):
            x, y = _number(value.get("x")), _number(value.get("y"))
            if x is not None and y is not None and 0 <= x <= 1 and 0 <= y <= 1:
                out[key] = {"x": x, "y": y}
    return out


# How far a reported value may sit from the one asked for and still confirm it: bulbs round brightness
# and colour temperature, blinds report their position in steps.
_TOLERANCE = {"brightness": 2, "color_temp": 3, "position": 2}
_COVER_TARGET = {"OPEN": 100, "CLOSE": 0}


def confirms(changes: Mapping[str, Any], before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether a live state report shows the change asked for, so that a routine report (battery, link
    quality) or a late echo of an earlier command does not count as the device's answer.

    Lights, outlets and the purifier must report every absolute value asked for (steps and scenes have no
    value to check: any report answers them). A blind takes seconds to travel, so it answers as soon as it
    reports a position at or closer to its target than before."""
    cover = "position" in after or "position" in before
    for key, want in changes.items():
        if cover and key in ("state", "position"):
            target = _COVER_TARGET.get(want) if key == "state" else want
            if target is None:
                continue  # STOP: any report answers it
            now, then = _number(after.get("position")), _number(before.get("position"))
            if now is None:
                return False
            if abs(now - target) > _TOLERANCE["position"] and (then is None or abs(now - target) >= abs(then - target)):
                return False
        elif key in _TOLERANCE:
            got = _number(after.get(key))
            if got is None or abs(got - want) > _TOLERANCE[key]:
                return False
        elif key in ("state", "fan_mode", "fan_state"):
            if str(after.get(key, "")).upper() != str(want).upper():
                return False
    return True


def still_travelling(changes: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """For a blind that confirmed by moving: where it is still going ("moving towards position 0"), or ""
    once it is there and for every other device."""
    if "position" not in after:
        return ""
    target = changes.get("position", _COVER_TARGET.get(str(changes.get("state"))))
    now = _number(after.get("position"))
    if target is None or now is None or abs(now - target) <= _TOLERANCE["position"]:
        return ""
    return f"moving towards position {target}"
