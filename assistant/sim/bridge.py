"""A virtual Zigbee2MQTT bridge as a pure message handler: one incoming MqttMessage -> messages to publish.

Holds every device's state, the scene tables (per device, keyed by group id and scene id, as Zigbee
devices store them), which devices are unreachable and which blinds are travelling. Time comes from an
injected clock: tick() moves the blinds to the present and returns the position reports that are due.
sim/runner.py connects it to a broker and ticks it.

Control topic (not part of Zigbee2MQTT): <base>/bridge/request/simulate/unreachable with
{"id": "<device>", "value": true|false} makes a device drop off the network (no echo, availability
offline) or come back; the answer goes to <base>/bridge/response/simulate/unreachable.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable, Iterable, Mapping

from ..devices.catalog import DeviceKind
from ..devices.registry import Registry
from ..errors import DeviceError
from ..messages import MqttMessage
from ..mqtt_codec import (TopicKind, Topics, availability_message, bridge_json_message, bridge_state_message,
                          log_message, parse_object, response_message, state_message)
from .devices import (SCENE_KEYS, Applied, apply_message, apply_set, decode_payload, default_state,
                      restore_state, writable_keys)
from .discovery import bridge_devices, bridge_groups, ha_discovery
from .travel import FYRTUR_PERCENT_PER_S, Travel, report_due, travel_target

log = logging.getLogger(__name__)

UNREACHABLE_REQUEST = "simulate/unreachable"
HEALTH_CHECK_REQUEST = "health_check"  # Zigbee2MQTT's own: {"data": {"healthy": true}, "status": "ok"}
DEVICE_SCENE_GROUP = 0  # scene_store on a device topic uses group 0, as Zigbee2MQTT does


class Bridge:
    def __init__(self, registry: Registry, unreachable: Iterable[str] = (),
                 clock: Callable[[], float] = time.monotonic, travel_percent_per_s: float = FYRTUR_PERCENT_PER_S):
        self.registry = registry
        self.clock = clock
        self.travel_percent_per_s = travel_percent_per_s
        self.travels: dict[str, Travel] = {}  # blinds on their way
        self._reported: dict[str, tuple[float, int]] = {}  # blind -> (time, position) of its last position report
        self.topics = Topics(registry.base_topic)
        self.states: dict[str, dict[str, Any]] = {n: default_state(d.spec) for n, d in registry.devices.items()}
        self.unreachable: set[str] = set()
        for name in unreachable:
            self._check_device(name)
            self.unreachable.add(name)
        self.scene_names: dict[tuple[int, int], str] = {}
        self.scene_tables: dict[str, dict[tuple[int, int], dict[str, Any]]] = {n: {} for n in registry.devices}
        for scene in registry.scenes.values():
            gid = registry.groups[scene.group].group_id
            self.scene_names[(gid, scene.scene_id)] = scene.name
            for member, stored in scene.states.items():
                self.scene_tables[member][(gid, scene.scene_id)] = dict(stored)

    def _check_device(self, name: str) -> None:
        if name not in self.registry.devices:
            raise DeviceError(f"unknown device {name!r}; known: {', '.join(self.registry.devices)}")

    # ------------------------------------------------------------------ lifecycle

    def restore(self, name: str, payload: str) -> bool:
        """Take a retained state message from a previous run; True if it was one of ours."""
        device = self.registry.devices.get(name)
        retained = parse_object(payload)
        if device is None or retained is None:
            return False
        self.states[name] = restore_state(device.spec, retained)
        return True

    def startup_messages(self) -> list[MqttMessage]:
        t = self.topics
        out = [bridge_state_message(t, True),
               bridge_json_message(t, "devices", bridge_devices(self.registry)),
               bridge_json_message(t, "groups", bridge_groups(self.registry, self.scene_names))]
        out += ha_discovery(self.registry, t)
        for name in self.registry.devices:
            out.append(availability_message(t, name, name not in self.unreachable))
            out.append(state_message(t, name, self.states[name]))
        return out

    def reconnect_messages(self) -> list[MqttMessage]:
        """Everything retained again, for a broker that may have restarted and forgotten it. bridge/state
        comes last, so a client that waits for it has every device's state before it."""
        first, *rest = self.startup_messages()
        return rest + [first]

    def shutdown_messages(self) -> list[MqttMessage]:
        out = [availability_message(self.topics, n, False) for n in self.registry.devices]
        return out + [bridge_state_message(self.topics, False)]

    # ------------------------------------------------------------------ incoming

    def tick(self) -> list[MqttMessage]:
        """Move travelling blinds to the present; returns the position reports that are due."""
        now = self.clock()
        out = []
        for name, travel in list(self.travels.items()):
            position = self._move_to(name, travel.position_at(now))
            last_s, last_position = self._reported.get(name, (-math.inf, None))
            if name not in self.unreachable and report_due(position, last_position, now - last_s):
                self._reported[name] = (now, position)
                out.append(state_message(self.topics, name, self.states[name]))
            if position == travel.target and (name in self.unreachable or self._reported[name][1] == position):
                del self.travels[name]  # arrived, and said so
        return out

    def _move_to(self, name: str, position: int) -> int:
        state = self.states[name]
        state["position"], state["state"] = position, "OPEN" if position > 0 else "CLOSE"
        return position

    def _travel(self, name: str, command: Mapping[str, Any]) -> None:
        """Set a blind off (or stop it) from where it is now; tick() has just brought it up to date."""
        if "state" not in command and "position" not in command:
            return
        now, position = self.clock(), self.states[name]["position"]
        self._reported[name] = (self._reported.get(name, (-math.inf, 0))[0], position)  # answered just now
        target = travel_target(command)
        if target is None or target == position:
            self.travels.pop(name, None)
        else:
            self.travels[name] = Travel(position, target, now, self.travel_percent_per_s)

    def handle(self, message: MqttMessage) -> list[MqttMessage]:
        """Never raises: anything malformed becomes an error on bridge/logging. Reports that fell due
        before the message come first."""
        due = self.tick()
        return due + self._handle(message)

    def _handle(self, message: MqttMessage) -> list[MqttMessage]:
        route = self.topics.route(message.topic)
        if route is None:
            return []
        try:
            if route.kind == TopicKind.SET:
                if route.name in self.registry.devices:
                    return self._set_device(route.name, message.payload)
                if route.name in self.registry.groups:
                    return self._set_group(route.name, message.payload)
                return [self._error(f"Entity '{route.name}' is unknown")]
            if route.kind == TopicKind.GET and route.name in self.registry.devices:
                if route.name in self.unreachable:
                    return []
                return [state_message(self.topics, route.name, self.states[route.name])]
            if route.kind == TopicKind.BRIDGE and route.name == f"request/{UNREACHABLE_REQUEST}":
                return self._set_unreachable(message.payload)
            if route.kind == TopicKind.BRIDGE and route.name == f"request/{HEALTH_CHECK_REQUEST}":
                transaction = (parse_object(message.payload) or {}).get("transaction")
                return [response_message(self.topics, HEALTH_CHECK_REQUEST, {"healthy": True}, None, transaction)]
        except Exception:  # a bug here must not take the bridge down; say so and carry on
            log.exception("simulator failed on %s", message.topic)
            return [self._error(f"internal error handling '{message.topic}'")]
        return []

    def _error(self, text: str) -> MqttMessage:
        log.info("refused: %s", text)
        return log_message(self.topics, "error", text)

    def _commit(self, name: str, applied: Applied) -> list[MqttMessage]:
        if not applied.ok:
            return [self._error(applied.error or "")]
        self.states[name] = dict(applied.state)
        if self.registry.devices[name].kind == DeviceKind.COVER:
            self._travel(name, applied.changes)
        return [state_message(self.topics, name, applied.state)]

    def _set_device(self, name: str, payload: str) -> list[MqttMessage]:
        if name in self.unreachable:
            return []  # the radio never hears back from it
        message = decode_payload(payload)
        if isinstance(message, dict) and any(k in SCENE_KEYS for k in message):
            return self._scene(name, (name,), DEVICE_SCENE_GROUP, message)
        return self._commit(name, apply_set(name, self.registry.devices[name].spec, self.states[name], payload))

    def _set_group(self, group_name: str, payload: str) -> list[MqttMessage]:
        group = self.registry.groups[group_name]
        message = decode_payload(payload)
        if isinstance(message, str):
            return [self._error(f"{message} (to '{group_name}')")]
        if any(k in SCENE_KEYS for k in message):
            return self._scene(group_name, group.members, group.group_id, message)
        specs = {m: self.registry.devices[m].spec for m in group.members}
        unsupported = [k for k in message if not any(k in writable_keys(s) for s in specs.values())]
        if unsupported or not message:
            key = unsupported[0] if unsupported else "{}"
            return [self._error(f"Publish 'set' '{key}' to '{group_name}' failed: 'No converter available'")]
        # Validate for every member first so a bad value changes nobody.
        results: dict[str, Applied] = {}
        for member, spec in specs.items():
            subset = {k: v for k, v in message.items() if k in writable_keys(spec)}
            if set(subset) - {"transition"}:
                applied = apply_message(member, spec, self.states[member], subset)
                if not applied.ok:
                    return [self._error(f"Publish 'set' to '{group_name}' failed: {applied.error}")]
                results[member] = applied
        out: list[MqttMessage] = []
        for member, applied in results.items():
            if member not in self.unreachable:
                out += self._commit(member, applied)
        return out + [self._group_state(group_name)]

    def _group_state(self, group_name: str) -> MqttMessage:
        members = self.registry.groups[group_name].members
        on = any(self.states[m].get("state") in ("ON", "OPEN") for m in members)
        return state_message(self.topics, group_name, {"state": "ON" if on else "OFF"})

    def _scene(self, target: str, members: tuple[str, ...], gid: int, message: Mapping[str, Any]) -> list[MqttMessage]:
        key = next(k for k in message if k in SCENE_KEYS)
        value = message[key]
        if len(message) > 1 and key != "scene_recall":
            return [self._error(f"Publish 'set' '{key}' to '{target}' failed: 'send scene commands alone'")]
        name = None
        if key == "scene_store" and isinstance(value, dict):
            name, value = value.get("name"), value.get("ID")
        if key != "scene_remove_all" and (isinstance(value, bool) or not isinstance(value, int)
                                           or not 0 <= value <= 255):
            return [self._error(f"Publish 'set' '{key}' to '{target}' failed: 'scene ID must be 0-255'")]
        reachable = [m for m in members if m not in self.unreachable]
        out: list[MqttMessage] = []
        if key == "scene_store":
            for m in reachable:
                self.scene_tables[m][(gid, value)] = dict(self.states[m])
            self.scene_names[(gid, value)] = str(name or f"Scene {value}")
        elif key == "scene_recall":
            if not any((gid, value) in self.scene_tables[m] for m in members):
                return [self._error(f"Publish 'set' 'scene_recall' to '{target}' failed: 'no scene {value}'")]
            for m in reachable:
                stored = self.scene_tables[m].get((gid, value))
                if stored is not None:
                    stored = {k: v for k, v in stored.items() if k in writable_keys(self.registry.devices[m].spec)}
                    out += self._commit(m, apply_message(m, self.registry.devices[m].spec, self.states[m], stored))
        else:
            for m in members:
                for scene_key in [k for k in self.scene_tables[m] if k[0] == gid]:
                    if key == "scene_remove_all" or scene_key[1] == value:
                        del self.scene_tables[m][scene_key]
            self.scene_names = {k: v for k, v in self.scene_names.items()
                                if not (k[0] == gid and (key == "scene_remove_all" or k[1] == value))}
        if key != "scene_recall":
            out.append(bridge_json_message(self.topics, "groups", bridge_groups(self.registry, self.scene_names)))
        elif target in self.registry.groups:
            out.append(self._group_state(target))
        return out

    def _set_unreachable(self, payload: str) -> list[MqttMessage]:
        request = parse_object(payload) or {}
        name, value = request.get("id"), request.get("value", True)
        transaction = request.get("transaction")
        if not isinstance(name, str) or name not in self.registry.devices or not isinstance(value, bool):
            error = f"expected {{\"id\": <device>, \"value\": true|false}}; known devices: {', '.join(self.registry.devices)}"
            return [response_message(self.topics, UNREACHABLE_REQUEST, {}, error, transaction)]
        (self.unreachable.add if value else self.unreachable.discard)(name)
        return [response_message(self.topics, UNREACHABLE_REQUEST, {"id": name, "value": value}, None, transaction),
                availability_message(self.topics, name, not value)]
