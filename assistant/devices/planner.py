"""Intent -> validated DeviceCommands, pure: the registry and the devices' last known states in, a Plan out.

Slots are registry identifiers (see the intent schema). Relative changes are resolved against the known
state and clamped to the model's range; with no known state they fall back to Zigbee2MQTT's own
brightness_step / color_temp_step so the device does the arithmetic. A change meant to be seen (brighter,
any colour or colour temperature) also turns on, in the same payload, a lamp that is not known to be on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import DeviceError
from ..messages import DeviceCommand, DeviceOutcome, Intent, Outcome
from .catalog import DeviceKind, ModelSpec
from .registry import Device, Registry
from .units import COLOR_HEX, WHITE_KELVIN, clamp, color_name_to_xy, kelvin_to_mired, mired_to_kelvin, percent_to_brightness

DOMAINS = {"light": DeviceKind.LIGHT, "switch": DeviceKind.OUTLET, "cover": DeviceKind.COVER, "fan": DeviceKind.PURIFIER}
# Which kinds an intent can act on when the target is wide (area, group, everything).
_KINDS = {
    "HassTurnOn": (DeviceKind.LIGHT, DeviceKind.OUTLET, DeviceKind.PURIFIER),  # covers only when named/domain
    "HassTurnOff": (DeviceKind.LIGHT, DeviceKind.OUTLET, DeviceKind.PURIFIER),
    "HassLightSet": (DeviceKind.LIGHT,),
    "HassSetPosition": (DeviceKind.COVER,),
    "HassStopMoving": (DeviceKind.COVER,),
    "SetFanMode": (DeviceKind.PURIFIER,),
    "HassGetState": tuple(DeviceKind),
}
DISPATCHABLE = frozenset(_KINDS) | {"HassNevermind"}  # every intent a plan can be made of
_QUERY_ATTRIBUTES = {"state": None, "brightness": "brightness", "position": "position", "fan_mode": "fan_mode",
                     "color_temp": "color_temp"}


@dataclass(frozen=True)
class Query:
    device: str
    attribute: str
    expected: Any = None


@dataclass(frozen=True)
class Plan:
    commands: tuple[DeviceCommand, ...] = ()
    # (device, command target) per expected state echo, in command order; the target is the device or its group
    echoes: tuple[tuple[str, str], ...] = ()
    queries: tuple[Query, ...] = ()
    refused: tuple[DeviceOutcome, ...] = ()  # devices that cannot do what was asked; nothing was sent


class Unable(Exception):
    """This device cannot do what was asked (a blind asked for a colour): it is refused, the turn goes on.
    Unlike DeviceError, which says the request itself is wrong."""


def validate_changes(spec: ModelSpec, changes: Mapping[str, Any], name: str) -> None:
    """Every key is a writable attribute of the model (or a step/scene key) and every value is in range."""
    for key, value in changes.items():
        if key in ("brightness_step", "brightness_step_onoff", "color_temp_step"):
            ok = isinstance(value, int) and -254 <= value <= 254
        elif key == "color":
            ok = spec.has("color") and isinstance(value, dict) and set(value) == {"x", "y"}
        else:
            attr = spec.attributes.get(key)
            ok = attr is not None and attr.writable and (
                value in attr.values if attr.kind == "enum"
                else isinstance(value, int) and attr.minimum <= value <= attr.maximum)
        if not ok:
            raise DeviceError(f"{name} ({spec.model}) cannot take {key}={value!r}")


def _target(intent: Intent, registry: Registry) -> tuple[str | None, tuple[Device, ...], bool]:
    """(group name or None, devices, explicitly named) for the intent's target slots."""
    slots = intent.slots
    domain = slots.get("domain")
    kind = None
    if domain is not None:
        kind = DOMAINS.get(domain)
        if kind is None:
            raise DeviceError(f"unknown domain {domain!r}; expected one of {', '.join(DOMAINS)}")
    if "name" in slots:
        device = registry.devices.get(slots["name"])
        if device is None:
            raise DeviceError(f"unknown device {slots['name']!r}; known: {', '.join(registry.devices)}")
        return None, (device,), True
    if "group" in slots:
        if slots["group"] not in registry.groups:
            raise DeviceError(f"unknown group {slots['group']!r}; known: {', '.join(registry.groups)}")
        devices = registry.members(slots["group"])
        return slots["group"], tuple(d for d in devices if kind is None or d.kind == kind), False
    if "area" in slots:
        if slots["area"] not in registry.areas:
            raise DeviceError(f"unknown area {slots['area']!r}; known: {', '.join(registry.areas)}")
        return None, registry.in_area(slots["area"], kind), kind is not None
    devices = registry.of_kind(kind) if kind is not None else tuple(registry.devices.values())
    return None, devices, kind is not None


def _relative_brightness(state: Mapping[str, Any] | None, step_percent: int) -> dict[str, Any]:
    delta = round(step_percent * 254 / 100)
    if not state or "brightness" not in state:
        # The device does the sum. Brighter also switches an off lamp on, as it does when the state is known
        # (a plain brightness_step leaves an off lamp off); dimmer never switches one off.
        return {"brightness_step_onoff" if delta > 0 else "brightness_step": clamp(delta, -254, 254)}
    if state.get("state") == "ON":
        return {"brightness": clamp(state["brightness"] + delta, 1, 254)}
    return {"state": "ON", "brightness": clamp(delta, 1, 254)} if delta > 0 else {"state": "OFF"}


def _relative_color_temp(spec: ModelSpec, state: Mapping[str, Any] | None, step_kelvin: int) -> dict[str, Any]:
    a = spec.attributes["color_temp"]
    current = (state or {}).get("color_temp")
    known = isinstance(current, int) and current > 0
    mired = current if known else (a.minimum + a.maximum) // 2
    kelvin = mired_to_kelvin(mired) + step_kelvin
    target = clamp(kelvin_to_mired(kelvin), a.minimum, a.maximum) if kelvin > 0 else a.maximum
    change = {"color_temp": target} if known else {"color_temp_step": target - mired}
    # A TRÅDFRI bulb ignores colour commands while it is off, so warmer/cooler on a lamp not known to be on
    # switches it on in the same payload, as brighter does and as every absolute colour does.
    return change if (state or {}).get("state") == "ON" else {"state": "ON", **change}


def _light_changes(device: Device, slots: Mapping[str, Any], state: Mapping[str, Any] | None) -> dict[str, Any]:
    spec = device.spec
    if "brightness" in slots:
        percent = slots["brightness"]
        if not isinstance(percent, (int, float)) or not 0 <= percent <= 100:
            raise DeviceError(f"brightness must be 0-100 percent, got {percent!r}")
        return {"state": "OFF"} if percent == 0 else {"state": "ON", "brightness": percent_to_brightness(percent)}
    if "brightness_step" in slots:
        return _relative_brightness(state, int(slots["brightness_step"]))
    if "color_temp_kelvin" in slots or "color_temp_step_kelvin" in slots:
        if not spec.has("color_temp"):
            raise Unable("cannot change colour temperature")
        if "color_temp_step_kelvin" in slots:
            return _relative_color_temp(spec, state, int(slots["color_temp_step_kelvin"]))
        a = spec.attributes["color_temp"]
        kelvin = slots["color_temp_kelvin"]
        if not isinstance(kelvin, (int, float)) or kelvin <= 0:
            raise DeviceError(f"color_temp_kelvin must be a positive number, got {kelvin!r}")
        return {"state": "ON", "color_temp": clamp(kelvin_to_mired(kelvin), a.minimum, a.maximum)}
    if "color" in slots:
        name = slots["color"]
        if name not in COLOR_HEX:
            raise DeviceError(f"unknown colour {name!r}; known: {', '.join(COLOR_HEX)}")
        if spec.has("color"):
            x, y = color_name_to_xy(name)
            return {"state": "ON", "color": {"x": x, "y": y}}
        if name == "white" and spec.has("color_temp"):
            a = spec.attributes["color_temp"]
            return {"state": "ON", "color_temp": clamp(kelvin_to_mired(WHITE_KELVIN), a.minimum, a.maximum)}
        raise Unable("cannot show colours")
    raise DeviceError("HassLightSet needs one of brightness, brightness_step, color_temp_kelvin, "
                      "color_temp_step_kelvin, color")


def changes_for(intent: Intent, device: Device, state: Mapping[str, Any] | None) -> dict[str, Any]:
    """The /set changes for one device; raises Unable with a short reason when it cannot do this."""
    kind = device.kind
    match intent.name:
        case "HassTurnOn" | "HassTurnOff":
            on = intent.name == "HassTurnOn"
            if kind == DeviceKind.COVER:
                return {"state": "OPEN" if on else "CLOSE"}
            if kind == DeviceKind.PURIFIER:
                return {"fan_state": "ON" if on else "OFF"}
            return {"state": "ON" if on else "OFF"}
        case "HassLightSet":
            if kind != DeviceKind.LIGHT:
                raise Unable("is not a light")
            return _light_changes(device, intent.slots, state)
        case "HassSetPosition":
            position = intent.slots.get("position")
            if not isinstance(position, int) or not 0 <= position <= 100:
                raise DeviceError(f"position must be 0-100, got {position!r}")
            if kind != DeviceKind.COVER:
                raise Unable("is not a blind")
            return {"position": position}
        case "HassStopMoving":
            if kind != DeviceKind.COVER:
                raise Unable("is not a blind")
            return {"state": "STOP"}
        case "SetFanMode":
            mode = str(intent.slots.get("fan_mode"))
            if kind != DeviceKind.PURIFIER:
                raise Unable("is not an air purifier")
            if mode not in device.spec.attributes["fan_mode"].values:
                raise DeviceError(f"fan_mode must be off, auto or 1-9, got {mode!r}")
            return {"fan_mode": mode}
    raise DeviceError(f"the dispatcher does not handle intent {intent.name!r}")


def plan(intents: tuple[Intent, ...] | list[Intent], registry: Registry,
         states: Mapping[str, Mapping[str, Any]]) -> Plan:
    """All intents of one turn, in order. Later intents see the projected effect of earlier ones."""
    projected = {name: dict(state) for name, state in states.items()}
    commands: list[DeviceCommand] = []
    echoes: list[tuple[str, str]] = []
    queries: list[Query] = []
    refused: list[DeviceOutcome] = []
    for intent in intents:
        if intent.name == "HassNevermind":
            continue
        if intent.name == "HassTurnOn" and "scene" in intent.slots:
            scene = registry.scenes.get(intent.slots["scene"])
            if scene is None:
                raise DeviceError(f"unknown scene {intent.slots['scene']!r}; known: {', '.join(registry.scenes)}")
            commands.append(DeviceCommand(scene.group, {"scene_recall": scene.scene_id}, intent.name))
            for member, stored in scene.states.items():
                echoes.append((member, scene.group))
                projected.setdefault(member, {}).update(stored)
            continue
        if intent.name not in _KINDS:
            raise DeviceError(f"the dispatcher does not handle intent {intent.name!r}")
        group, devices, explicit = _target(intent, registry)
        if not explicit:
            devices = tuple(d for d in devices if d.kind in _KINDS[intent.name])
        if not devices:
            where = intent.slots.get("area") or intent.slots.get("group") or "this home"
            refused.append(DeviceOutcome(str(where), Outcome.REFUSED, detail=f"nothing there can do {intent.name}"))
            continue
        if intent.name == "HassGetState":
            attribute = str(intent.slots.get("attribute", "state"))
            if attribute not in _QUERY_ATTRIBUTES:
                raise DeviceError(f"cannot ask for {attribute!r}; expected one of {', '.join(_QUERY_ATTRIBUTES)}")
            queries += [Query(d.name, attribute, intent.slots.get("expected")) for d in devices]
            continue
        per_device: dict[str, dict[str, Any]] = {}
        for device in devices:
            try:
                changes = changes_for(intent, device, projected.get(device.name))
            except Unable as why:
                refused.append(DeviceOutcome(device.name, Outcome.REFUSED, detail=f"{device.spoken} {why}"))
                continue
            validate_changes(device.spec, changes, device.name)
            per_device[device.name] = changes
        if not per_device:
            continue
        distinct = {tuple(sorted((k, repr(v)) for k, v in c.items())) for c in per_device.values()}
        whole_group = group is not None and set(per_device) == set(registry.groups[group].members)
        if whole_group and len(distinct) == 1:
            commands.append(DeviceCommand(group, next(iter(per_device.values())), intent.name))
            echoes += [(name, group) for name in per_device]
        else:
            for name, changes in per_device.items():
                commands.append(DeviceCommand(name, changes, intent.name))
                echoes.append((name, name))
        for name, changes in per_device.items():
            projected.setdefault(name, {}).update({k: v for k, v in changes.items() if not k.endswith("_step")})
    return Plan(tuple(commands), tuple(echoes), tuple(queries), tuple(refused))
