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
