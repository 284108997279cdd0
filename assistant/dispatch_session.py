"""What the dispatcher knows and decides, with no broker and no clock: messages received and times in,
messages to publish and outcomes out.

The session follows every device's retained state and availability (receive()), plans each turn once from
what the devices last reported, and answers each command from the messages that come back. A turn is a
generator of steps (dispatch_steps.py: publish this, hand me what arrives until then, ...) that the driver
carries out and answers with a Reply holding the time (ms) and what happened; its return value is the
turn's Dispatched.
dispatcher.py is the driver that owns the MQTT client and the clock; tests drive a session with scripted
replies instead.

Broker faults: a turn that needs the broker while it is away waits up to offline_queue_ms for it to come
back, then reports every device it would have touched as FAILED ("broker unavailable ..."). Nothing is
published late. After a reconnection the session catches up (retained states, and the bridge's
announcement when a bridge had been seen) before it sends anything. Which message answers which command
is awaited.py's business.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

from .awaited import BRIDGE_OFFLINE, Awaited
from .config import MqttSettings
from .devices.catalog import DeviceKind
from .devices.planner import Plan, Query, plan
from .devices.registry import Registry
from .devices.reported import MAX_STATE_BYTES, clean_state
from .devices.units import spoken_value
from .dispatch_steps import AwaitBroker, Drain, Listen, Publish, Step, Steps
from .messages import DeviceOutcome, Dispatched, Intent, MqttMessage, Outcome
from .mqtt_codec import (CONNECTED_TOPIC, TopicKind, Topics, encode_command, parse_availability, parse_bridge_error,
                         parse_object)

log = logging.getLogger(__name__)
DRY_RUN_UNANSWERED = "not answered in a dry run (no device state is read)"

SYNC_TIMEOUT_MS = 2000.0


class DispatchSession:
    def __init__(self, registry: Registry, settings: MqttSettings, marker: str,
                 states: Mapping[str, Mapping[str, Any]] | None = None):
        """marker: a topic only this session publishes to, to know when the retained burst has been read."""
        self.registry = registry
        self.topics = Topics(registry.base_topic)
        self.echo_timeout_ms = float(settings.echo_timeout_ms)
        self.offline_queue_ms = float(settings.offline_queue_ms)
        self.where = f"{settings.host}:{settings.port}"
        self.marker = marker
        self._states: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (states or {}).items()}
        self._online: dict[str, bool | None] = {}
        self._bridge_online: bool | None = None
        self._bridge_seen = False  # a bridge announced itself at some point: expect it back after a reconnect
        self._awaited = Awaited()
        self._stale = True  # retained states not absorbed since the last (re)connection
        self._now_ms = 0.0
        self._known = 0  # counts the reports that changed the states a plan rests on
        self._plan: tuple[tuple[Intent, ...], int, Plan] | None = None

    @property
    def subscriptions(self) -> tuple[str, ...]:
        return (*self.topics.follow_patterns(self.registry.devices), self.marker)

    # ------------------------------------------------------------------ state following

    def receive(self, message: MqttMessage, now_ms: float) -> None:
        """Take in one message from the broker: a device's state or availability, the bridge's state or log,
        or the client's word that it reconnected (CONNECTED_TOPIC)."""
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
                    self._awaited.report(route.name, state, now_ms)
        elif route.kind == TopicKind.AVAILABILITY and route.name in self.registry.devices:
            online = parse_availability(message.payload)
            self._online[route.name] = online
            if online is False:
                self._awaited.unreachable(lambda device: device == route.name, "availability offline", self._states,
                                          now_ms)
        elif route.kind == TopicKind.BRIDGE and route.name == "state":
            self._bridge_online = parse_availability(message.payload)
            self._bridge_seen = self._bridge_seen or self._bridge_online is not None
            if self._bridge_online is False:
                self._awaited.forget_owed()
                self._awaited.unreachable(lambda device: True, BRIDGE_OFFLINE, self._states, now_ms)
        elif route.kind == TopicKind.BRIDGE and route.name == "logging" and len(message.payload) <= MAX_STATE_BYTES:
            error = parse_bridge_error(message.payload)
            if error is not None:
                self._awaited.refuse(error, self._states, now_ms)

    def _merge(self, name: str, reported: Mapping[str, Any]) -> dict[str, Any]:
        """Fold a report into what we know of the device. Zigbee2MQTT with cache_state: false publishes only
        the keys that changed, so a key the report leaves out keeps its last value; a key it carries with a
        value we cannot use is forgotten rather than kept stale."""
        kept = {k: v for k, v in self._states.get(name, {}).items() if k not in reported}
        state = kept | clean_state(self.registry.devices[name].spec, reported)
        self._states[name] = state
        self._known += 1
        return state

    def device_states(self) -> dict[str, dict[str, Any]]:
        """Last reported state of every registry device (empty dict if none seen yet)."""
        return {name: dict(self._states.get(name, {})) for name in self.registry.devices}

    def availability(self) -> dict[str, bool | None]:
        bridge = self._bridge_online
        return {name: (False if bridge is False else self._online.get(name)) for name in self.registry.devices}

    def plan(self, intents: Sequence[Intent]) -> Plan:
        """The turn's plan from what the devices last reported. Made once: it is made again only when a
        message has since changed what it rests on (catching up after a reconnection can)."""
        intents = tuple(intents)
        if self._plan is None or self._plan[:2] != (intents, self._known):
            self._plan = (intents, self._known, plan(intents, self.registry, self._states))
        return self._plan[2]

    # ------------------------------------------------------------------ steps shared by the turns

    def _ask(self, step: Step) -> Steps:
        reply = yield step
        self._now_ms = reply.now_ms
        return reply

    def _catch_up(self) -> Steps:
        reply = yield from self._ask(Drain())
        for message in reply.messages:
            self.receive(message, reply.now_ms)

    def sync(self, timeout_ms: float = SYNC_TIMEOUT_MS) -> Steps:
        """Absorb the retained burst: publish to our own marker and read until it comes back."""
        reply = yield from self._ask(Publish(MqttMessage(self.marker, "{}", qos=1, retain=False)))
        if reply.error is not None:
            log.debug("sync marker not sent: %s", reply.error)
            return
        self._stale = False
        deadline = self._now_ms + timeout_ms
        while deadline - self._now_ms > 0:
            reply = yield from self._ask(Listen(deadline))
            if reply.message is None or reply.message.topic == self.marker:
                return
            self.receive(reply.message, reply.now_ms)
        log.warning("broker did not return our sync marker within %.1f s", timeout_ms / 1000)

    def _ready(self, connected: bool) -> Steps:
        """Wait, at most offline_queue_ms, until the broker is there and we have caught up after a
        reconnection. Returns why not, or None when commands can go out."""
        deadline = self._now_ms + self.offline_queue_ms
        if not connected:
            log.info("broker unavailable; holding the command for up to %.0f ms", self.offline_queue_ms)
            reply = yield from self._ask(AwaitBroker(deadline))
            if not reply.connected:
                return f"broker unavailable at {self.where} for {self.offline_queue_ms:.0f} ms; nothing was sent"
        yield from self._catch_up()
        if self._stale:
            yield from self.sync(min(SYNC_TIMEOUT_MS, max(deadline - self._now_ms, 50.0)))
        # A restarted bridge announces bridge/state before anything else it republishes; until then its
        # devices' old states may still be on their way and would read as echoes.
        while self._bridge_seen and self._bridge_online is None and deadline - self._now_ms > 0:
            reply = yield from self._ask(Listen(deadline))
            if reply.message is None:
                break
            self.receive(reply.message, reply.now_ms)
        return None

    # ------------------------------------------------------------------ a turn

    def dry_run(self, intents: Sequence[Intent]) -> Dispatched:
        """The messages the turn would publish, touching nothing. Raises DeviceError for slots that name
        nothing in the registry."""
        the_plan = self.plan(intents)
        messages = tuple(encode_command(c, self.topics) for c in the_plan.commands)
        answers = tuple(self._answer(q, dry_run=True) for q in the_plan.queries)
        sent = tuple(DeviceOutcome(device, Outcome.DRY_RUN, detail=f"via {target}")
                     for device, target in the_plan.echoes)
        return Dispatched(the_plan.commands, messages, sent + answers + the_plan.refused)

    def dispatch(self, intents: Sequence[Intent], now_ms: float, connected: bool) -> Steps:
        """One turn's intents, as steps; returns the turn's Dispatched. Raises DeviceError for slots that
        name nothing in the registry."""
        self._now_ms = now_ms
        yield from self._catch_up()
        the_plan = self.plan(intents)
        if not the_plan.commands and not the_plan.queries:
            return Dispatched((), (), the_plan.refused)
        problem = yield from self._ready(connected)
        if problem is not None:
            return Dispatched(the_plan.commands, (), self._failed(the_plan, problem) + the_plan.refused)
        yield from self._catch_up()
        return (yield from self.carry_out(self.plan(intents)))

    def carry_out(self, the_plan: Plan) -> Steps:
        """Publish a plan's commands, await their answers, then answer its questions (after this turn's own
        changes); returns the turn's Dispatched."""
        outcomes, published = yield from self._send(the_plan)
        answers = []
        for query in the_plan.queries:
            yield from self._catch_up()
            answers.append(self._answer(query, dry_run=False))
        return Dispatched(the_plan.commands, published, outcomes + tuple(answers) + the_plan.refused)

    def _failed(self, the_plan: Plan, detail: str) -> tuple[DeviceOutcome, ...]:
        """One FAILED outcome per device the plan would have touched or asked about."""
        devices = [device for device, _ in the_plan.echoes]
        devices += [c.device for c in the_plan.commands if not any(t == c.device for _, t in the_plan.echoes)]
        devices += [q.device for q in the_plan.queries]
        return tuple(DeviceOutcome(d, Outcome.FAILED, dict(self._states.get(d, {})), detail)
                     for d in dict.fromkeys(devices))

    def _send(self, the_plan: Plan) -> Steps:
        self._awaited.begin()
        echoes = list(the_plan.echoes)  # ordered like the commands that cause them
        published: list[MqttMessage] = []
        connected = True
        for i, command in enumerate(the_plan.commands):
            message = encode_command(command, self.topics)
            answers: list[tuple[str, str]] = []
            # A command's echoes are its device, or each member of its group once: a second command to the
            # same target in this turn has echoes of its own.
            while echoes and echoes[0][1] == command.device and all(echoes[0][0] != d for d, _ in answers):
                answers.append(echoes.pop(0))
                if answers[-1][0] == command.device:
                    break
            self._awaited.expect(answers, command.changes, self._now_ms, self._states)
            reply = yield from self._ask(Publish(message))
            connected = reply.connected
            if reply.error is not None:
                # Not acknowledged (and withdrawn): this command and the ones after it did not happen.
                log.warning("%s", reply.error)
                self._awaited.withdraw_last()
                unsent = tuple(answers) + tuple(echoes)
                detail = reply.error if reply.error.startswith("broker unavailable") else \
                    f"broker unavailable: {reply.error}"
                failed = self._failed(Plan(the_plan.commands[i:], unsent), detail)
                return (yield from self._await_echoes(connected)) + failed, tuple(published)
            published.append(message)
        return (yield from self._await_echoes(connected)), tuple(published)

    def _await_echoes(self, connected: bool) -> Steps:
        bridge_down = self._bridge_online is False
        self._awaited.unreachable(lambda device: bridge_down or self._online.get(device) is False,
                                  BRIDGE_OFFLINE if bridge_down else "availability offline", self._states, None)
        deadline = self._now_ms + self.echo_timeout_ms
        while self._awaited.waiting:
            reply = yield from self._ask(Listen(deadline))
            connected = reply.connected
            if reply.message is None:
                break
            self.receive(reply.message, reply.now_ms)
        if connected:
            missing, waited = Outcome.UNREACHABLE, f"no state echo within {self.echo_timeout_ms:.0f} ms"
        else:
            missing, waited = Outcome.FAILED, f"broker unavailable at {self.where}: lost before the device answered"
        unchanged = f"it reported, but not the change, within {self.echo_timeout_ms:.0f} ms"
        return self._awaited.finish(self._now_ms, lambda device, seen: (
            DeviceOutcome(device, Outcome.TIMEOUT, seen, unchanged) if seen is not None
            else DeviceOutcome(device, missing, self._states.get(device, {}), waited)))

    def _answer(self, query: Query, dry_run: bool) -> DeviceOutcome:
        device = self.registry.devices[query.device]
        state = self._states.get(query.device)
        if self.availability().get(query.device) is False:
            return DeviceOutcome(query.device, Outcome.UNREACHABLE, dict(state or {}), "availability offline")
        if not state:
            if dry_run:  # a question changes nothing; a dry run has read no state to answer it from
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
