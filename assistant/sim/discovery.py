"""What a Zigbee2MQTT bridge advertises about itself: bridge/devices, bridge/groups, and Home Assistant
MQTT discovery configs. Pure functions of the registry (shaped like Zigbee2MQTT 2.x output)."""

from __future__ import annotations

import hashlib
from typing import Any

from ..devices.catalog import DeviceKind, ModelSpec
from ..devices.registry import Device, Registry
from ..messages import MqttMessage
from ..mqtt_codec import Topics, discovery_message

_ACCESS_ALL = 7  # published | settable | gettable


def ieee_address(name: str) -> str:
    """A stable made-up IEEE address per friendly name (real ones come from the radio)."""
    return "0x" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:16]


def _numeric(name: str, low: int, high: int, unit: str = "", access: int = _ACCESS_ALL,
             prop: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "numeric", "name": name, "property": prop or name, "access": access,
                           "value_min": low, "value_max": high}
    if unit:
        out["unit"] = unit
    return out


def exposes(spec: ModelSpec) -> list[dict[str, Any]]:
    """Zigbee2MQTT `exposes` for a catalog model."""
    a = spec.attributes
    onoff = {"type": "binary", "name": "state", "property": "state", "access": _ACCESS_ALL,
             "value_on": "ON", "value_off": "OFF", "value_toggle": "TOGGLE"}
    match spec.kind:
        case DeviceKind.LIGHT:
            features = [onoff, _numeric("brightness", 0, 254)]
            if "color_temp" in a:
                features.append(_numeric("color_temp", a["color_temp"].minimum, a["color_temp"].maximum, "mired"))
            if "color" in a:
                features.append({"type": "composite", "name": "color_xy", "property": "color", "access": _ACCESS_ALL,
                                 "features": [_numeric("x", 0, 1, prop="x"), _numeric("y", 0, 1, prop="y")]})
            return [{"type": "light", "features": features}]
        case DeviceKind.OUTLET:
            return [{"type": "switch", "features": [onoff]}]
        case DeviceKind.COVER:
            return [{"type": "cover", "features": [
                        {"type": "enum", "name": "state", "property": "state", "access": 3,
                         "values": list(a["state"].values)},
                        _numeric("position", 0, 100, "%")]},
                    _numeric("battery", 0, 100, "%", access=5)]
        case DeviceKind.PURIFIER:
            return [{"type": "fan", "features": [
                        {"type": "binary", "name": "state", "property": "fan_state", "access": _ACCESS_ALL,
                         "value_on": "ON", "value_off": "OFF"},
                        {"type": "enum", "name": "mode", "property": "fan_mode", "access": _ACCESS_ALL,
                         "values": list(a["fan_mode"].values)}]},
                    _numeric("pm25", 0, 999, "µg/m³", access=5),
                    {"type": "enum", "name": "air_quality", "property": "air_quality", "access": 5,
                     "values": list(a["air_quality"].values)}]
    return []


def bridge_devices(registry: Registry) -> list[dict[str, Any]]:
    coordinator = {"ieee_address": "0x00124b0000000000", "type": "Coordinator", "network_address": 0,
                   "supported": True, "friendly_name": "Coordinator", "definition": None,
                   "interview_completed": True, "interviewing": False, "disabled": False}
    out = [coordinator]
    for i, device in enumerate(registry.devices.values(), start=1):
        out.append({
            "ieee_address": ieee_address(device.name),
            "type": "EndDevice" if device.kind == DeviceKind.COVER else "Router",
            "network_address": 1000 + i,
            "supported": True,
            "friendly_name": device.name,
            "description": device.area or "",
            "definition": {"model": device.spec.model, "vendor": "IKEA", "description": device.spec.description,
                           "exposes": exposes(device.spec), "options": []},
            "power_source": "Battery" if device.kind == DeviceKind.COVER else "Mains (single phase)",
            "interview_completed": True,
            "interviewing": False,
            "disabled": False,
        })
    return out


def bridge_groups(registry: Registry, scene_names: dict[tuple[int, int], str]) -> list[dict[str, Any]]:
    out = []
    for group in registry.groups.values():
        scenes = [{"id": sid, "name": name} for (gid, sid), name in sorted(scene_names.items()) if gid == group.group_id]
        out.append({"id": group.group_id, "friendly_name": group.name, "description": None, "scenes": scenes,
                    "members": [{"ieee_address": ieee_address(m), "endpoint": 1} for m in group.members]})
    return out


def _ha_device(device: Device) -> dict[str, Any]:
    return {"identifiers": [f"zigbee2mqtt_{ieee_address(device.name)}"], "manufacturer": "IKEA",
            "model": device.spec.description, "model_id": device.spec.model, "name": device.name,
            "suggested_area": device.area}


def ha_discovery(registry: Registry, topics: Topics) -> list[MqttMessage]:
    """Home Assistant MQTT discovery configs, one entity per device (lights use schema: json)."""
    messages = []
    for device in registry.devices.values():
        node = ieee_address(device.name)
        common = {
            "availability": [{"topic": topics.bridge("state"), "value_template": "{{ value_json.state }}"},
                             {"topic": topics.availability(device.name), "value_template": "{{ value_json.state }}"}],
            "availability_mode": "all",
            "device": _ha_device(device),
            "name": None,
            "object_id": device.name,
            "state_topic": topics.state(device.name),
            "command_topic": topics.set(device.name),
            "origin": {"name": "assistant simulator"},
        }
        a = device.spec.attributes
        match device.kind:
            case DeviceKind.LIGHT:
                modes = ["xy"] if "color" in a else (["color_temp"] if "color_temp" in a else ["brightness"])
                if "color" in a and "color_temp" in a:
                    modes = ["color_temp", "xy"]
                config = {**common, "schema": "json", "brightness": True, "brightness_scale": 254,
                          "supported_color_modes": modes, "unique_id": f"{node}_light_zigbee2mqtt"}
                if "color_temp" in a:
                    config.update(min_mireds=a["color_temp"].minimum, max_mireds=a["color_temp"].maximum)
                messages.append(discovery_message("light", node, "light", config))
            case DeviceKind.OUTLET:
                config = {**common, "payload_on": '{"state": "ON"}', "payload_off": '{"state": "OFF"}',
                          "state_on": "ON", "state_off": "OFF", "value_template": "{{ value_json.state }}",
                          "unique_id": f"{node}_switch_zigbee2mqtt"}
                messages.append(discovery_message("switch", node, "switch", config))
            case DeviceKind.COVER:
                config = {**common, "device_class": "blind", "payload_open": "OPEN", "payload_close": "CLOSE",
                          "payload_stop": "STOP", "position_topic": topics.state(device.name),
                          "position_template": "{{ value_json.position }}",
                          "set_position_topic": topics.set(device.name),
                          "set_position_template": '{ "position": {{ position }} }',
                          "value_template": "{{ value_json.state }}", "state_open": "OPEN", "state_closed": "CLOSE",
                          "unique_id": f"{node}_cover_zigbee2mqtt"}
                messages.append(discovery_message("cover", node, "cover", config))
            case DeviceKind.PURIFIER:
                config = {**common, "state_value_template": "{{ value_json.fan_state }}",
                          "command_template": '{"fan_state": "{{ value }}"}',
                          "preset_mode_state_topic": topics.state(device.name),
                          "preset_mode_value_template": "{{ value_json.fan_mode }}",
                          "preset_mode_command_topic": topics.set(device.name),
                          "preset_mode_command_template": '{"fan_mode": "{{ value }}"}',
                          "preset_modes": list(a["fan_mode"].values),
                          "unique_id": f"{node}_fan_zigbee2mqtt"}
                messages.append(discovery_message("fan", node, "fan", config))
    return messages
