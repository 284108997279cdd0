"""The driver of a DispatchSession: owns the MQTT client and the clock, carries out the steps a turn asks for.

Every decision (what to publish, what answers what, when to give up) is the session's (dispatch_session.py);
this module only publishes, waits on the client and reads the time. Without a client it is a dry run: it
returns the messages it would publish and touches nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Mapping, Sequence

from .config import MqttSettings
from .devices.planner import Plan
from .devices.registry import Registry
from .dispatch_session import DispatchSession
from .dispatch_steps import AwaitBroker, Drain, Listen, Publish, Reply, Step, Steps
from .errors import BrokerError
from .interfaces import Clock, MqttPort
from .messages import Dispatched, Intent
from .mqtt_codec import sync_topic

log = logging.getLogger(__name__)


def monotonic_ms() -> float:
    return time.monotonic() * 1000


class Dispatcher:
    def __init__(self, registry: Registry, settings: MqttSettings, client: MqttPort | None = None,
                 states: Mapping[str, Mapping[str, Any]] | None = None, clock: Clock = monotonic_ms):
        if settings.base_topic != registry.base_topic:
            log.info("using the registry's base topic %r (settings say %r)", registry.base_topic, settings.base_topic)
        self.registry = registry
        self.session = DispatchSession(registry, settings, sync_topic(uuid.uuid4().hex, settings.satellite_id), states)
        self.topics = self.session.topics
        self.client = client
        self.clock = clock
        if client is not None:
            client.subscribe(*self.session.subscriptions)
            if client.connected:
                self._run(self.session.sync())

    @property
    def dry_run(self) -> bool:
        return self.client is None

    def device_states(self) -> dict[str, dict[str, Any]]:
        """Last reported state of every registry device (empty dict if none seen yet)."""
        self._receive_waiting()
        return self.session.device_states()

    def availability(self) -> dict[str, bool | None]:
        self._receive_waiting()
        return self.session.availability()

    def plan(self, intents: Sequence[Intent]) -> Plan:
        self._receive_waiting()
        return self.session.plan(intents)

    def dispatch(self, intents: Sequence[Intent]) -> Dispatched:
        """Run one turn's intents. Raises DeviceError for slots that name nothing in the registry."""
        if self.client is None:
            return self.session.dry_run(intents)
        return self._run(self.session.dispatch(intents, self.clock(), self.client.connected))

    def carry_out(self, plan: Plan) -> Dispatched:
        """Publish a plan made elsewhere as it stands (no catching up first) and await its answers."""
        return self._run(self.session.carry_out(plan))

    # ------------------------------------------------------------------ carrying out the steps

    def _receive_waiting(self) -> None:
        if self.client is not None:
            for message in self.client.drain():
                self.session.receive(message, self.clock())

    def _run(self, steps: Steps) -> Any:
        try:
            step = next(steps)
            while True:
                step = steps.send(self._carry(step))
        except StopIteration as done:
            return done.value

    def _carry(self, step: Step) -> Reply:
        client = self.client
        match step:
            case Publish(message):
                try:
                    client.publish(message)
                except BrokerError as exc:
                    return Reply(self.clock(), client.connected, error=str(exc))
                return Reply(self.clock(), client.connected)
            case Listen(until_ms):
                left_s = (until_ms - self.clock()) / 1000
                message = client.get(left_s) if left_s > 0 else None
                return Reply(self.clock(), client.connected, message=message)
            case Drain():
                return Reply(self.clock(), client.connected, messages=tuple(client.drain()))
            case AwaitBroker(until_ms):
                connected = client.wait_connected(max(until_ms - self.clock(), 0.0) / 1000)
                return Reply(self.clock(), connected)
        raise TypeError(f"no such step: {step!r}")
