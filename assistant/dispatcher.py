"""Intents -> DeviceCommands -> MQTT messages -> per-device outcomes, against a Zigbee2MQTT-style bridge.

The dispatcher follows every device's retained state and availability (so relative changes and state
questions use what the devices last reported), publishes at QoS 1, then waits, bounded by
settings.echo_timeout_ms, for each device's state echo. Without a client it is a dry run: it returns the
messages it would publish and touches nothing.

Broker faults: a turn that needs the broker while it is away waits up to settings.offline_queue_ms for
it to come back, then reports every device it would have touched as FAILED ("broker unavailable ...").
Nothing is published late. After a reconnection the dispatcher catches up (retained states, and the
bridge's announcement when a bridge had been seen) before it sends anything. Which message answers which
command is awaited.py's business.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Mapping, NamedTuple, Protocol

from .awaited import BRIDGE_OFFLINE, Awaited
from .config import MqttSettings
from .devices.catalog import DeviceKind
from .devices.planner import Plan, Query, plan
from .devices.registry import Registry
from .devices.reported import MAX_STATE_BYTES, clean_state
from .devices.units import spoken_value
from .errors import BrokerError
from .messages import DeviceCommand, DeviceOutcome, Intent, MqttMessage, Outcome
from .mqtt_codec import (CONNECTED_TOPIC, TopicKind, Topics, encode_command, parse_availability, parse_bridge_error,
                         parse_object, sync_topic)

log = logging.getLogger(__name__)
DRY_RUN_UNANSWERED = "not answered in a dry run (no device state is read)"

SYNC_TIMEOUT_S = 2.0


class MqttPort(Protocol):
    """What the dispatcher needs from an MQTT client (assistant.adapters.mqtt.MqttClient provides it).
    publish() raises BrokerError when the broker is unavailable; a client reports each (re)connection
    after the first as a message on CONNECTED_TOPIC, in order with the messages around it."""

    connected: bool

    def subscribe(self, *topics: str) -> None: ...
    def publish(self, message: MqttMessage) -> None: ...
    def get(self, timeout_s: float) -> MqttMessage | None: ...
    def drain(self) -> list[MqttMessage]: ...
    def wait_connected(self, timeout_s: float) -> bool: ...


class DispatchResult(NamedTuple):
    commands: tuple[DeviceCommand, ...]
    messages: tuple[MqttMessage, ...]
    outcomes: tuple[DeviceOutcome, ...]


class Dispatcher:
    def __init__(self, registry: Registry, settings: MqttSettings, client: MqttPort | None = None,
                 states: Mapping[str, Mapping[str, Any]] | None = None):
        if settings.base_topic != registry.base_topic:
            log.info("using the registry's base topic %r (settings say %r)", registry.base_topic, settings.base_topic)
        self.registry = registry
        self.topics = Topics(registry.base_topic)
        self.echo_timeout_s = settings.echo_timeout_ms / 1000
        self.offline_queue_s = settings.offline_queue_ms / 1000
        self.where = f"{settings.host}:{settings.port}"
        self.client = client
        self._states: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (states or {}).items()}
        self._online: dict[str, bool | None] = {}
        self._bridge_online: bool | None = None
        self._bridge_seen = False  # a bridge announced itself at some point: expect it back after a reconnect
        self._awaited = Awaited()
        self._marker = sync_topic(uuid.uuid4().hex, settings.satellite_id)
        self._stale = True  # retained states not absorbed since the last (re)connection
        if client is not None:
            client.subscribe(*self.topics.follow_patterns(registry.devices), self._marker)
            if client.connected:
                self._sync(SYNC_TIMEOUT_S)

    @property
    def dry_run(self) -> bool:
        return self.client is None

    # ------------------------------------------------------------------ state following

    def _sync(self, timeout_s: float) -> None:
        """Absorb the retained burst: wait until our own marker comes back."""
        try:
            self.client.publish(MqttMessage(self._marker, "{}", qos=1, retain=False))
        except BrokerError as exc:
            log.debug("sync marker not sent: %s", exc)
            return
        self._stale = False
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            message = self.client.get(left)
            if message is None or message.topic == self._marker:
                return
            self._absorb(message)
        log.warning("broker did not return our sync marker within %.1f s", timeout_s)

    def _ready(self) -> str | None:
        """Wait, at most offline_queue_ms, until the broker is there and we have caught up after a
        reconnection. Returns why not, or None when commands can go out."""
        deadline = time.monotonic() + self.offline_queue_s
        if not self.client.connected:
            log.info("broker unavailable; holding the command for up to %.0f ms", self.offline_queue_s * 1000)
            if not self.client.wait_connected(self.offline_queue_s):
                return (f"broker unavailable at {self.where} for {self.offline_queue_s * 1000:.0f} ms; "
                        "nothing was sent")
        self._refresh()
        if self._stale:
            self._sync(min(SYNC_TIMEOUT_S, max(deadline - time.monotonic(), 0.05)))
        # A restarted bridge announces bridge/state before anything else it republishes; until then its
        # devices' old states may still be on their way and would read as echoes.
        while self._bridge_seen and self._bridge_online is None and (left := deadline - time.monotonic()) > 0:
            message = self.client.get(left)
            if message is None:
                break
            self._absorb(message)
        return None

    def _refresh(self) -> None:
        if self.client is not None:
            for message in self.client.drain():
                self._absorb(message)

    def _absorb(self, message: MqttMessage) -> None:
        if message.topic == CONNECTED_TOPIC:  # reconnected: what we knew may be stale, catch up before sending
            self._stale = True
            if self._bridge_online is not None:
                self._bridge_seen = True
            self._bridge_online = None
            return
        route = self.topics.route(message.topic)
        if route is None:
            return
        if route.kind == TopicKind.STATE and route.name in self.registry.devices:
            if len(message.payload) > MAX_STATE_BYTES:
                log.debug("ignored a %d-character state on %s", len(message.payload), message.topic)
                return
            reported = parse_object(message.payload)
            if reported is not None:
                state = self._merge(route.name, reported)
                if not message.retain:
                    self._awaited.report(route.name, state, time.monotonic())
        elif route.kind == TopicKind.AVAILABILITY and route.name in self.registry.devices:
            online = parse_availability(message.payload)
            self._online[route.name] = online
            if online is False:
                self._awaited.unreachable(lambda device: device == route.name, "availability offline", self._states,
                                          time.monotonic())
        elif route.kind == TopicKind.BRIDGE and route.name == "state":
            self._bridge_online = parse_availability(message.payload)
            self._bridge_seen = self._bridge_seen or self._bridge_online is not None
            if self._bridge_online is False:
                self._awaited.forget_owed()
                self._awaited.unreachable(lambda device: True, BRIDGE_OFFLINE, self._states, time.monotonic())
        elif route.kind == TopicKind.BRIDGE and route.name == "logging" and len(message.payload) <= MAX_STATE_BYTES:
            error = parse_bridge_error(message.payload)
            if error is not None:
                self._awaited.refuse(error, self._states, time.monotonic())

    def _merge(self, name: str, reported: Mapping[str, Any]) -> dict[str, Any]:
        """Fold a report into what we know of the device. Zigbee2MQTT with cache_state: false publishes only
        the keys that changed, so a key the report leaves out keeps its last value; a key it carries with a
        value we cannot use is forgotten rather than kept stale."""
        kept = {k: v for k, v in self._states.get(name, {}).items() if k not in reported}
        state = kept | clean_state(self.registry.devices[name].spec, reported)
        self._states[name] = state
        return state

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
        if self.client is None:
            messages = tuple(encode_command(c, self.topics) for c in the_plan.commands)
            answers = tuple(self._answer(q) for q in the_plan.queries)
            sent = tuple(DeviceOutcome(device, Outcome.DRY_RUN, detail=f"via {target}")
                         for device, target in the_plan.echoes)
            return DispatchResult(the_plan.commands, messages, sent + answers + the_plan.refused)
        if not the_plan.commands and not the_plan.queries:
            return DispatchResult((), (), the_plan.refused)
        problem = self._ready()
        if problem is not None:
            return DispatchResult(the_plan.commands, (), self._failed(the_plan, problem) + the_plan.refused)
        the_plan = self.plan(intents)  # again: catching up may have brought newer states
        messages = tuple(encode_command(c, self.topics) for c in the_plan.commands)
        outcomes, published = self._send(the_plan, messages)
        answers = tuple(self._answer(q) for q in the_plan.queries)  # after this turn's own changes
        return DispatchResult(the_plan.commands, published, outcomes + answers + the_plan.refused)

    def _failed(self, the_plan: Plan, detail: str) -> tuple[DeviceOutcome, ...]:
        """One FAILED outcome per device the plan would have touched or asked about."""
        devices = [device for device, _ in the_plan.echoes]
        devices += [c.device for c in the_plan.commands if not any(t == c.device for _, t in the_plan.echoes)]
        devices += [q.device for q in the_plan.queries]
        return tuple(DeviceOutcome(d, Outcome.FAILED, dict(self._states.get(d, {})), detail)
                     for d in dict.fromkeys(devices))

    def _send(self, the_plan: Plan, messages: tuple[MqttMessage, ...]
              ) -> tuple[tuple[DeviceOutcome, ...], tuple[MqttMessage, ...]]:
        self._awaited.begin()
        echoes = list(the_plan.echoes)  # ordered like the commands that cause them
        published: list[MqttMessage] = []
        for i, (command, message) in enumerate(zip(the_plan.commands, messages)):
            answers: list[tuple[str, str]] = []
            # A command's echoes are its device, or each member of its group once: a second command to the
            # same target in this turn has echoes of its own.
            while echoes and echoes[0][1] == command.device and all(echoes[0][0] != d for d, _ in answers):
                answers.append(echoes.pop(0))
                if answers[-1][0] == command.device:
                    break
            self._awaited.expect(answers, command.changes, time.monotonic(), self._states)
            try:
                self.client.publish(message)
            except BrokerError as exc:
                # Not acknowledged (and withdrawn): this command and the ones after it did not happen.
                log.warning("%s", exc)
                self._awaited.withdraw_last()
                unsent = tuple(answers) + tuple(echoes)
                detail = str(exc) if str(exc).startswith("broker unavailable") else f"broker unavailable: {exc}"
                failed = self._failed(Plan(the_plan.commands[i:], unsent), detail)
                return self._await_echoes() + failed, tuple(published)
            published.append(message)
        return self._await_echoes(), tuple(published)

    def _await_echoes(self) -> tuple[DeviceOutcome, ...]:
        bridge_down = self._bridge_online is False
        self._awaited.unreachable(lambda device: bridge_down or self._online.get(device) is False,
                                  BRIDGE_OFFLINE if bridge_down else "availability offline", self._states, None)
        deadline = time.monotonic() + self.echo_timeout_s
        while self._awaited.waiting:
            left = deadline - time.monotonic()
            message = self.client.get(left) if left > 0 else None
            if message is None:
                break
            self._absorb(message)
        if self.client.connected:
            missing, waited = Outcome.UNREACHABLE, f"no state echo within {self.echo_timeout_s * 1000:.0f} ms"
        else:
            missing, waited = Outcome.FAILED, f"broker unavailable at {self.where}: lost before the device answered"
        unchanged = f"it reported, but not the change, within {self.echo_timeout_s * 1000:.0f} ms"
        return self._awaited.finish(time.monotonic(), lambda device, seen: (
            DeviceOutcome(device, Outcome.TIMEOUT, seen, unchanged) if seen is not None
            else DeviceOutcome(device, missing, self._states.get(device, {}), waited)))

    def _answer(self, query: Query) -> DeviceOutcome:
        device = self.registry.devices[query.device]
        state = self._states.get(query.device)
        if self.availability().get(query.device) is False:
            return DeviceOutcome(query.device, Outcome.UNREACHABLE, dict(state or {}), "availability offline")
        if not state:
            if self.dry_run:  # a question changes nothing; a dry run has read no state to answer it from
                return DeviceOutcome(query.device, Outcome.DRY_RUN, {}, DRY_RUN_UNANSWERED)
            return DeviceOutcome(query.device, Outcome.FAILED, {}, "no state reported yet")
        key = "fan_state" if query.attribute == "state" and device.kind == DeviceKind.PURIFIER else query.attribute
        value = state.get(key)
        if value is None or (key == "brightness" and not isinstance(value, int)):
            return DeviceOutcome(query.device, Outcome.FAILED, dict(state), f"{device.spoken} has no {query.attribute}")
        if query.expected is not None:
            detail = "yes" if str(value).upper() == str(query.expected).upper() else "no"
        else:
            detail = spoken_value(key, value)
        return DeviceOutcome(query.device, Outcome.ANSWERED, {key: value, **state}, detail)
