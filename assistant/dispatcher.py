"""Intents -> DeviceCommands -> MQTT messages -> per-device outcomes, against a Zigbee2MQTT-style bridge.

The dispatcher follows every device's retained state and availability (so relative changes and state
questions use what the devices last reported), publishes at QoS 1, then waits, bounded by
settings.echo_timeout_ms, for each device's state echo. Without a client it is a dry run: it returns the
messages it would publish and touches nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Mapping, NamedTuple, Protocol

from .config import MqttSettings
from .devices.catalog import DeviceKind
from .devices.planner import Plan, Query, plan
from .devices.registry import Registry
from .devices.units import brightness_to_percent
from .messages import DeviceCommand, DeviceOutcome, Intent, MqttMessage, Outcome
from .mqtt_codec import TopicKind, Topics, encode_command, parse_availability, parse_object, sync_topic

log = logging.getLogger(__name__)

SYNC_TIMEOUT_S = 2.0


class MqttPort(Protocol):
    """What the dispatcher needs from an MQTT client (assistant.adapters.mqtt.MqttClient provides it)."""

    def subscribe(self, *topics: str) -> None: ...
    def publish(self, message: MqttMessage) -> None: ...
    def get(self, timeout_s: float) -> MqttMessage | None: ...
    def drain(self) -> list[MqttMessage]: ...


class DispatchResult(NamedTuple):
    commands: tuple[DeviceCommand, ...]
    messages: tuple[MqttMessage, ...]
    outcomes: tuple[DeviceOutcome, ...]


class _Pending:
    __slots__ = ("device", "target", "sent_at", "outcome")

    def __init__(self, device: str, target: str, sent_at: float):
        self.device, self.target, self.sent_at = device, target, sent_at
        self.outcome: DeviceOutcome | None = None


class Dispatcher:
    def __init__(self, registry: Registry, settings: MqttSettings, client: MqttPort | None = None,
                 states: Mapping[str, Mapping[str, Any]] | None = None):
        if settings.base_topic != registry.base_topic:
            log.info("using the registry's base topic %r (settings say %r)", registry.base_topic, settings.base_topic)
        self.registry = registry
        self.topics = Topics(registry.base_topic)
        self.echo_timeout_s = min(settings.echo_timeout_ms, 2000) / 1000
        self.client = client
        self._states: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (states or {}).items()}
        self._online: dict[str, bool | None] = {}
        self._bridge_online: bool | None = None
        self._pending: list[_Pending] = []
        if client is not None:
            token = uuid.uuid4().hex
            client.subscribe(*self.topics.follow_patterns(), sync_topic(token))
            self._sync(token)

    @property
    def dry_run(self) -> bool:
        return self.client is None

    # ------------------------------------------------------------------ state following

    def _sync(self, token: str) -> None:
        """Absorb the retained burst: wait until our own marker comes back."""
        marker = sync_topic(token)
        self.client.publish(MqttMessage(marker, "{}", qos=1, retain=False))
        deadline = time.monotonic() + SYNC_TIMEOUT_S
        while (left := deadline - time.monotonic()) > 0:
            message = self.client.get(left)
            if message is None or message.topic == marker:
                return
            self._absorb(message)
        log.warning("broker did not return our sync marker within %.1f s", SYNC_TIMEOUT_S)

    def _refresh(self) -> None:
        if self.client is not None:
            for message in self.client.drain():
                self._absorb(message)

    def _absorb(self, message: MqttMessage) -> None:
        route = self.topics.route(message.topic)
        if route is None:
            return
        if route.kind == TopicKind.STATE and route.name in self.registry.devices:
            state = parse_object(message.payload)
            if state is not None:
                self._states[route.name] = state
                if not message.retain:
                    self._resolve(lambda p: p.device == route.name, Outcome.DONE, state=state)
        elif route.kind == TopicKind.AVAILABILITY and route.name in self.registry.devices:
            online = parse_availability(message.payload)
            self._online[route.name] = online
            if online is False:
                self._resolve(lambda p: p.device == route.name, Outcome.UNREACHABLE, detail="availability offline")
        elif route.kind == TopicKind.BRIDGE and route.name == "state":
            self._bridge_online = parse_availability(message.payload)
            if self._bridge_online is False:
                self._resolve(lambda p: True, Outcome.UNREACHABLE, detail="bridge offline")
        elif route.kind == TopicKind.BRIDGE and route.name == "logging":
            entry = parse_object(message.payload) or {}
            text = str(entry.get("message", ""))
            if entry.get("level") == "error":
                self._resolve(lambda p: f"'{p.target}'" in text, Outcome.REFUSED, detail=text, all_matching=True)

    def _resolve(self, match, outcome: Outcome, state: Mapping[str, Any] | None = None, detail: str = "",
                 all_matching: bool = False) -> None:
        """Settle the oldest open command matching (or all of them); state echoes settle one at a time."""
        now = time.monotonic()
        for p in self._pending:
            if p.outcome is None and match(p):
                p.outcome = DeviceOutcome(p.device, outcome, dict(state or self._states.get(p.device, {})), detail,
                                          round((now - p.sent_at) * 1000, 2))
                if not all_matching and outcome == Outcome.DONE:
                    return

    def device_states(self) -> dict[str, dict[str, Any]]:
        """Last reported state of every registry device (empty dict if none seen yet)."""
        self._refresh()
        return {name: dict(self._states.get(name, {})) for name in self.registry.devices}

    def availability(self) -> dict[str, bool | None]:
        self._refresh()
        bridge = self._bridge_online
        return {name: (False if bridge is False else self._online.get(name)) for name in self.registry.devices}

    # ------------------------------------------------------------------ dispatch

    def plan(self, intents: tuple[Intent, ...] | list[Intent]) -> Plan:
        self._refresh()
        return plan(tuple(intents), self.registry, self._states)

    def dispatch(self, intents: tuple[Intent, ...] | list[Intent]) -> DispatchResult:
        """Run one turn's intents. Raises DeviceError for slots that name nothing in the registry."""
        the_plan = self.plan(intents)
        messages = tuple(encode_command(c, self.topics) for c in the_plan.commands)
        answers = tuple(self._answer(q) for q in the_plan.queries)
        if self.client is None:
            sent = tuple(DeviceOutcome(device, Outcome.DRY_RUN, detail=f"via {target}")
                         for device, target in the_plan.echoes)
            return DispatchResult(the_plan.commands, messages, sent + answers + the_plan.refused)
        return DispatchResult(the_plan.commands, messages, self._send(the_plan, messages) + answers + the_plan.refused)

    def _send(self, the_plan: Plan, messages: tuple[MqttMessage, ...]) -> tuple[DeviceOutcome, ...]:
        self._pending = []
        echoes = list(the_plan.echoes)  # ordered like the commands that cause them
        for command, message in zip(the_plan.commands, messages):
            sent_at = time.monotonic()
            while echoes and echoes[0][1] == command.device:
                device, target = echoes.pop(0)
                self._pending.append(_Pending(device, target, sent_at))
            self.client.publish(message)
        bridge_down = self._bridge_online is False
        for p in self._pending:
            if bridge_down or self._online.get(p.device) is False:
                p.outcome = DeviceOutcome(p.device, Outcome.UNREACHABLE, self._states.get(p.device, {}),
                                          "bridge offline" if bridge_down else "availability offline")
        deadline = time.monotonic() + self.echo_timeout_s
        while any(p.outcome is None for p in self._pending):
            left = deadline - time.monotonic()
            message = self.client.get(left) if left > 0 else None
            if message is None:
                break
            self._absorb(message)
        waited = f"no state echo within {self.echo_timeout_s * 1000:.0f} ms"
        outcomes = tuple(p.outcome or DeviceOutcome(p.device, Outcome.UNREACHABLE, self._states.get(p.device, {}),
                                                     waited) for p in self._pending)
        self._pending = []
        return outcomes

    def _answer(self, query: Query) -> DeviceOutcome:
        device = self.registry.devices[query.device]
        state = self._states.get(query.device)
        if self.availability().get(query.device) is False:
            return DeviceOutcome(query.device, Outcome.UNREACHABLE, dict(state or {}), "availability offline")
        if not state:
            outcome = Outcome.DRY_RUN if self.dry_run else Outcome.FAILED
            return DeviceOutcome(query.device, outcome, {}, "no state reported yet")
        key = "fan_state" if query.attribute == "state" and device.kind == DeviceKind.PURIFIER else query.attribute
        value = state.get(key)
        if value is None:
            return DeviceOutcome(query.device, Outcome.FAILED, dict(state), f"{device.spoken} has no {query.attribute}")
        if query.expected is not None:
            detail = "yes" if str(value).upper() == str(query.expected).upper() else "no"
        elif key == "brightness":
            detail = f"{brightness_to_percent(value)}%"
        else:
            detail = str(value)
        return DeviceOutcome(query.device, Outcome.ANSWERED, {key: value, **state}, detail)
