"""The pure core of a simulated IKEA device: (model, state, payload) -> new state or a refusal.

Follows Zigbee2MQTT's documented payloads (state ON/OFF/TOGGLE, brightness 0-254 with 255 read as 254,
brightness_step[_onoff], color_temp, color_temp_step, color {x,y}/{hex}/"#hex", transition; a bulb that is
off ignores colour unless the same payload switches it on; covers state OPEN/CLOSE/STOP and position, which
take time: sim/travel.py; STARKVIND fan_mode/fan_state). One deliberate difference: a payload is applied
whole or not at all; Zigbee2MQTT applies the keys it understands and logs the rest.
No I/O, no clock: the MQTT adapter in sim/bridge.py and sim/runner.py does the talking.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..devices.catalog import DeviceKind, ModelSpec
from ..devices.units import clamp, hex_to_xy

MAX_PAYLOAD_BYTES = 4096
SCENE_KEYS = ("scene_store", "scene_recall", "scene_remove", "scene_remove_all")
_PLAIN_STATES = ("on", "off", "toggle", "open", "close", "stop")
_TRANSITION_MAX_S = 3600


@dataclass(frozen=True)
class Applied:
    """Result of one /set: the new full state, or why the payload was refused (state then unchanged).
    `changes` is the payload as applied (values normalised), for what takes time: a blind's travel."""

    state: Mapping[str, Any]
    error: str | None = None
    changes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


class Refused(Exception):
    """Internal: one key of a payload is not acceptable."""


def decode_payload(payload: str) -> dict[str, Any] | str:
    """A /set payload -> message dict, or an error text. Plain "ON"/"OPEN"... means {"state": ...}."""
    if len(payload.encode("utf-8", "surrogatepass")) > MAX_PAYLOAD_BYTES:
        return f"payload of {len(payload)} characters is larger than {MAX_PAYLOAD_BYTES} bytes"
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):
        if payload.strip().lower() in _PLAIN_STATES:
            return {"state": payload.strip()}
        return f"Invalid message '{payload[:60]}', skipping..."
    if not isinstance(value, dict):
        return f"Invalid message '{payload[:60]}': expected a JSON object, skipping..."
    return value


def default_state(spec: ModelSpec) -> dict[str, Any]:
    """The state a freshly powered device reports."""
    match spec.kind:
        case DeviceKind.LIGHT:
            state: dict[str, Any] = {"state": "OFF", "brightness": 254}
            if spec.has("color_temp"):
                state["color_temp"] = 370
            if spec.has("color"):
                state["color_mode"] = "color_temp"
                state["color"] = {"x": 0.4596, "y": 0.4105}
            return state
        case DeviceKind.OUTLET:
            return {"state": "OFF"}
        case DeviceKind.COVER:
            return {"state": "OPEN", "position": 100, "battery": 87}
        case DeviceKind.PURIFIER:
            return {"fan_mode": "off", "fan_state": "OFF", "pm25": 8, "air_quality": "excellent"}
    return {}


def writable_keys(spec: ModelSpec) -> frozenset[str]:
    """The /set keys this model has a converter for (values not checked)."""
    keys = {"transition"}
    match spec.kind:
        case DeviceKind.LIGHT:
            keys |= {"state", "brightness", "brightness_step", "brightness_step_onoff"}
            if spec.has("color_temp"):
                keys |= {"color_temp", "color_temp_step"}
            if spec.has("color"):
                keys.add("color")
        case DeviceKind.OUTLET:
            keys.add("state")
        case DeviceKind.COVER:
            keys |= {"state", "position"}
        case DeviceKind.PURIFIER:
            keys |= {"fan_mode", "fan_state"}
    return frozenset(keys)


def _number(key: str, value: Any, low: float, high: float, named_range: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Refused(f"{key} must be a number, got {json.dumps(value)[:40]}")
    if not low <= value <= high:
        raise Refused(f"{key} {value} is out of range {named_range or f'{low:g}-{high:g}'}")
    return value


def _choice(key: str, value: Any, allowed: tuple[str, ...], upper: bool = True) -> str:
    if not isinstance(value, str):
        raise Refused(f"{key} must be one of {', '.join(allowed)}, got {json.dumps(value)[:40]}")
    text = value.upper() if upper else value.lower()
    if text not in allowed:
        raise Refused(f"{key} must be one of {', '.join(allowed)}, got '{value[:40]}'")
    return text


def _color(value: Any) -> tuple[float, float]:
    if isinstance(value, str):
        value = {"hex": value}
    if not isinstance(value, dict):
        raise Refused("color must be {\"x\": .., \"y\": ..} or {\"hex\": \"#RRGGBB\"}")
    if set(value) == {"hex"}:
        if not isinstance(value["hex"], str):
            raise Refused("color hex must be a \"#RRGGBB\" string")
        try:
            return hex_to_xy(value["hex"])
        except ValueError as exc:
            raise Refused(f"color {exc}") from None
    if set(value) == {"x", "y"}:
        return (round(_number("color.x", value["x"], 0, 1), 4), round(_number("color.y", value["y"], 0, 1), 4))
    raise Refused("color must be {\"x\": .., \"y\": ..} or {\"hex\": \"#RRGGBB\"}")


def _normalize(spec: ModelSpec, key: str, value: Any) -> Any:
    """Validate one key for this model and return its canonical value (raises Refused)."""
    attrs = spec.attributes
    if key == "transition":
        return _number(key, value, 0, _TRANSITION_MAX_S)
    if spec.kind == DeviceKind.LIGHT:
        if key == "state":
            return _choice(key, value, ("ON", "OFF", "TOGGLE"))
        if key == "brightness":  # Zigbee2MQTT reads 255 as 254: taken, but the range a refusal names is the catalog's
            a = attrs["brightness"]
            return min(a.maximum, round(_number(key, value, a.minimum, a.maximum + 1, f"{a.minimum}-{a.maximum}")))
        if key in ("brightness_step", "brightness_step_onoff"):
            return round(_number(key, value, -255, 255))
        if key == "color_temp" and "color_temp" in attrs:
            a = attrs["color_temp"]
            return round(_number(key, value, a.minimum, a.maximum))
        if key == "color_temp_step" and "color_temp" in attrs:
            return round(_number(key, value, -600, 600))
        if key == "color" and "color" in attrs:
            return _color(value)
    elif spec.kind == DeviceKind.OUTLET and key == "state":
        return _choice(key, value, ("ON", "OFF", "TOGGLE"))
    elif spec.kind == DeviceKind.COVER:
        if key == "state":
            return _choice(key, value, ("OPEN", "CLOSE", "STOP"))
        if key == "position":
            a = attrs["position"]
            return round(_number(key, value, a.minimum, a.maximum))
    elif spec.kind == DeviceKind.PURIFIER:
        if key == "fan_mode":
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            return _choice(key, value, attrs["fan_mode"].values, upper=False)
        if key == "fan_state":
            return _choice(key, value, ("ON", "OFF"))
    attr = attrs.get(key)
    if attr is not None and not attr.writable:
        raise Refused(f"'{key}' is read-only")
    raise Refused(f"No converter available for '{key}' ({json.dumps(value)[:40]})")


def _apply_light(spec: ModelSpec, state: dict[str, Any], msg: Mapping[str, Any]) -> None:
    was_on = state["state"] == "ON"
    if "brightness" in msg:
        if msg["brightness"] == 0:
            state["state"] = "OFF"  # Zigbee2MQTT infers OFF; the level before is kept for the next ON
        else:
            state["brightness"] = msg["brightness"]
            state["state"] = "ON"
    if "state" in msg:
        wanted = msg["state"]
        if wanted == "TOGGLE":
            wanted = "OFF" if state["state"] == "ON" else "ON"
        state["state"] = wanted
    if "brightness_step" in msg and state["state"] == "ON":
        state["brightness"] = clamp(state["brightness"] + msg["brightness_step"], 1, 254)
    if "brightness_step_onoff" in msg:
        current = state["brightness"] if state["state"] == "ON" else 0
        level = clamp(current + msg["brightness_step_onoff"], 0, 254)
        state["state"] = "ON" if level > 0 else "OFF"
        if level > 0:
            state["brightness"] = level
    # A TRÅDFRI bulb ignores colour commands while it is off (unless its execute_if_off option is set);
    # Zigbee2MQTT sends state and brightness first when a payload switches a bulb on and last when it switches
    # it off (its publish extension: "Not all bulbs support setting the color/color_temp while it is off"),
    # so colour takes when the bulb is on before or after the payload.
    if not (was_on or state["state"] == "ON"):
        return
    if "color_temp" in msg or "color_temp_step" in msg:
        a = spec.attributes["color_temp"]
        mired = msg.get("color_temp", state["color_temp"]) + msg.get("color_temp_step", 0)
        state["color_temp"] = clamp(mired, a.minimum, a.maximum)
        if "color" in spec.attributes:
            state["color_mode"] = "color_temp"
    if "color" in msg:
        x, y = msg["color"]
        state["color"] = {"x": x, "y": y}
        state["color_mode"] = "xy"


def _apply(spec: ModelSpec, state: dict[str, Any], msg: Mapping[str, Any]) -> None:
    match spec.kind:
        case DeviceKind.LIGHT:
            _apply_light(spec, state, msg)
        case DeviceKind.OUTLET:
            wanted = msg.get("state", state["state"])
            state["state"] = ("OFF" if state["state"] == "ON" else "ON") if wanted == "TOGGLE" else wanted
        case DeviceKind.COVER:
            # A blind starts from where it is: the bridge moves it over time (sim/travel.py).
            state["state"] = "OPEN" if state["position"] > 0 else "CLOSE"
        case DeviceKind.PURIFIER:
            if "fan_state" in msg:
                state["fan_mode"] = "auto" if msg["fan_state"] == "ON" else "off"
            if "fan_mode" in msg:
                state["fan_mode"] = msg["fan_mode"]
            state["fan_state"] = "OFF" if state["fan_mode"] == "off" else "ON"


def apply_message(name: str, spec: ModelSpec, state: Mapping[str, Any], message: Mapping[str, Any]) -> Applied:
    """Apply an already decoded /set message (scene keys excluded). Refusal leaves `state` as it was."""
    if not message:
        return Applied(state, f"Publish 'set' to '{name}' failed: 'nothing to set in {{}}'")
    clean: dict[str, Any] = {}
    for key, value in message.items():
        try:
            clean[key] = _normalize(spec, key, value)
        except Refused as exc:
            return Applied(state, f"Publish 'set' '{key}' to '{name}' failed: '{exc}'")
    new = json.loads(json.dumps(state))  # deep copy, and proves the state stays JSON
    _apply(spec, new, clean)
    return Applied(new, changes=clean)


def apply_set(name: str, spec: ModelSpec, state: Mapping[str, Any], payload: str) -> Applied:
    """A raw /set payload for one device -> Applied. Never raises."""
    message = decode_payload(payload)
    if isinstance(message, str):
        return Applied(state, f"{message} (to '{name}')")
    scene = [k for k in message if k in SCENE_KEYS]
    if scene:
        return Applied(state, f"Publish 'set' '{scene[0]}' to '{name}' failed: 'scenes are handled by the bridge'")
    return apply_message(name, spec, state, message)


def restore_state(spec: ModelSpec, retained: Mapping[str, Any]) -> dict[str, Any]:
    """Rebuild a state from a retained message, keeping only values that are valid for the model."""
    state = default_state(spec)
    for key in state:
        if key not in retained:
            continue
        candidate = dict(state)
        candidate[key] = retained[key]
        if not state_problems(spec, candidate):
            state = candidate
    return state


def state_problems(spec: ModelSpec, state: Mapping[str, Any]) -> list[str]:
    """Everything wrong with a state for this model (empty list = valid). Used by tests and restore."""
    problems = []
    expected = default_state(spec)
    if set(state) != set(expected):
        problems.append(f"keys {sorted(state)} != {sorted(expected)}")
    for key, value in state.items():
        attr = spec.attributes.get(key)
        if key == "color":
            ok = (isinstance(value, dict) and set(value) == {"x", "y"}
                  and all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1
                          for v in value.values()))
        elif key == "color_mode":
            ok = value in ("xy", "color_temp")
        elif attr is None:
            ok = True
        elif attr.kind == "enum":
            ok = isinstance(value, str) and value in attr.values and value != "TOGGLE"
        else:
            ok = (isinstance(value, int) and not isinstance(value, bool)
                  and attr.minimum <= value <= attr.maximum)
        if not ok:
            problems.append(f"{key}={value!r}")
    return problems
