"""Connects the pure Bridge to a broker: restore from retained state, announce, then answer commands and
publish the blinds' position reports as they travel (the bridge is ticked between messages)."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Callable, Iterable

from ..adapters.mqtt import MqttClient
from ..config import MqttSettings
from ..devices.registry import Registry
from ..errors import BrokerError
from ..messages import MqttMessage
from ..mqtt_codec import CONNECTED_TOPIC, TopicKind, Topics, bridge_state_message, parse_availability, parse_object
from .bridge import HEALTH_CHECK_REQUEST, UNREACHABLE_REQUEST, Bridge
from .travel import FYRTUR_PERCENT_PER_S

log = logging.getLogger(__name__)

RESTORE_TIMEOUT_S = 3.0
HEALTH_CHECK_TIMEOUT_S = 2.0  # a live bridge answers in milliseconds


class Simulator:
    """A virtual Zigbee2MQTT bridge on a real broker. start() returns once it is listening. `clock` is the
    blinds' time (tests pass one they move by hand)."""

    def __init__(self, registry: Registry, settings: MqttSettings, unreachable: Iterable[str] = (),
                 clock: Callable[[], float] = time.monotonic, travel_percent_per_s: float = FYRTUR_PERCENT_PER_S):
        self.bridge = Bridge(registry, unreachable, clock, travel_percent_per_s)
        self.topics = Topics(registry.base_topic)
        self.settings = settings
        self.restored: list[str] = []
        self.republished = 0  # times everything was announced again after a reconnection
        self._outage = False  # a publish failed and the broker has not come back since
        self.health_check_timeout_s = HEALTH_CHECK_TIMEOUT_S
        self._client: MqttClient | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, wait_for_broker_s: float = 0.0) -> "Simulator":
        """Connect, restore, announce. With wait_for_broker_s > 0 a broker that is not up yet (a service
        that starts before Mosquitto) is waited for; nothing is restored or announced before it answers,
        so retained states from the last run are never overwritten with defaults."""
        will = bridge_state_message(self.topics, online=False)
        self._client = MqttClient(self.settings, client_id=f"assistant-sim-{uuid.uuid4().hex[:8]}", will=will,
                                  required=wait_for_broker_s <= 0,
                                  meanwhile=f"waiting up to {wait_for_broker_s:g} s for it")
        up, refused = False, None
        deadline = time.monotonic() + wait_for_broker_s
        try:
            while True:
                up = self._client.wait_connected(min(0.2, max(0.0, deadline - time.monotonic())))
                refused = self._client.refused
                if up or refused or time.monotonic() >= deadline:
                    break
        finally:  # also on Ctrl-C while waiting: nothing was announced, so there is nothing to take back
            if not up:
                self._client.kill()
                self._client = None
        if refused:
            raise BrokerError(f"MQTT broker at {self.settings.host}:{self.settings.port} refused the connection "
                              f"({refused}); check --username/--password/--tls-ca")
        if not up:
            raise BrokerError(f"MQTT broker at {self.settings.host}:{self.settings.port} did not come up within "
                              f"{wait_for_broker_s:g} s; start Mosquitto or pass --broker HOST:PORT")
        try:
            if self._restore():
                self._refuse_if_served()
        except BrokerError:
            self._client.close()  # a clean goodbye: our last will (bridge offline) would speak for the other one
            self._client = None
            raise
        for message in self.bridge.startup_messages():
            self._client.publish(message)
        registry = self.bridge.registry
        names = list(registry.devices) + list(registry.groups)
        self._client.subscribe(*[self.topics.set(n) for n in names], *[self.topics.get(n) for n in registry.devices],
                               self.topics.bridge(f"request/{UNREACHABLE_REQUEST}"),
                               self.topics.bridge(f"request/{HEALTH_CHECK_REQUEST}"))
        log.info("simulating %d devices and %d groups under %s/", len(registry.devices), len(registry.groups),
                 self.topics.base)
        return self

    def _restore(self) -> bool:
        """Read our own retained states from the last run. A private echo marks the end of the retained burst.
        True when the retained bridge/state says a bridge is online under our base topic."""
        if self._client is None:
            raise RuntimeError("call start() first")
        marker = self.topics.bridge(f"simulate/restore/{uuid.uuid4().hex}")
        state_topics = [self.topics.state(n) for n in self.bridge.registry.devices] + [self.topics.bridge("state")]
        self._client.subscribe(marker, *state_topics)
        announced = False
        self._client.publish(MqttMessage(marker, "{}", qos=1, retain=False))
        while True:
            message = self._client.get(RESTORE_TIMEOUT_S)
            if message is None:
                log.warning("no restore marker within %.1f s; starting from defaults", RESTORE_TIMEOUT_S)
                break
            if message.topic == marker:
                break
            route = self.topics.route(message.topic)
            if route is not None and route.kind == TopicKind.STATE and message.retain:
                if self.bridge.restore(route.name, message.payload):
                    self.restored.append(route.name)
            elif message.topic == self.topics.bridge("state") and message.retain:
                announced = parse_availability(message.payload) is True
        self._client.unsubscribe(marker, *state_topics)
        self._client.drain()
        if self.restored:
            log.info("restored state of %s from retained messages", ", ".join(self.restored))
        return announced

    def _refuse_if_served(self) -> None:
        """Another bridge announced itself under our base topic. If it is alive (it answers Zigbee2MQTT's
        health check), starting would make two bridges answer every command, and whichever stopped first
        would mark the other's devices offline: refuse. If nothing answers, the announcement is stale (a
        bridge that could not say goodbye, e.g. the broker stopped first) and we take over."""
        transaction = uuid.uuid4().hex
        response = self.topics.bridge(f"response/{HEALTH_CHECK_REQUEST}")
        self._client.subscribe(response)
        self._client.publish(MqttMessage(self.topics.bridge(f"request/{HEALTH_CHECK_REQUEST}"),
                                         json.dumps({"transaction": transaction}), qos=1, retain=False))
        deadline = time.monotonic() + self.health_check_timeout_s
        answered = False
        while not answered and (left := deadline - time.monotonic()) > 0:
            message = self._client.get(left)
            if message is None:
                break
            answered = (message.topic == response
                        and (parse_object(message.payload) or {}).get("transaction") == transaction)
        self._client.unsubscribe(response)
        self._client.drain()
        base, where = self.topics.base, f"{self.settings.host}:{self.settings.port}"
        if answered:
            raise BrokerError(f"a Zigbee2MQTT bridge already serves {base}/ on {where} (another 'assistant "
                              "simulate'?); stop it first (or let 'assistant demo --broker' use it: --no-simulator), "
                              "or give this simulator its own base_topic in devices.yaml (--config DIR)")
        log.warning("%s/bridge/state says online, but no bridge answered a health check within %.1f s; taking over",
                    base, self.health_check_timeout_s)

    def step(self, timeout_s: float = 0.2) -> bool:
        """Handle at most one incoming message (or, with none within timeout_s, publish the blinds' reports
        that fell due); False if none came. Survives a broker that goes away: answers that cannot be
        delivered are dropped (the state is kept) and, once the client has reconnected, everything retained
        is announced again."""
        if self._client is None:
            raise RuntimeError("call start() first")
        message = self._client.get(timeout_s)
        if message is None:
            self._publish(self.bridge.tick())
            return False
        if message.topic == CONNECTED_TOPIC:
            if self._outage:  # said once when it went, so once now that it is back
                log.warning("simulator: broker at %s:%s is back; announcing the bridge, availability and state "
                            "again", self.settings.host, self.settings.port)
                self._outage = False
            else:
                log.info("reconnected; announcing the bridge, availability and state again")
            self.republished += 1
            self._publish(self.bridge.tick() + self.bridge.reconnect_messages())
        else:
            self._publish(self.bridge.handle(message))
        return True

    def _publish(self, outgoing: list[MqttMessage]) -> None:
        for out in outgoing:
            try:
                self._client.publish(out)
            except BrokerError as exc:
                if not self._outage:  # a blind on its way reports every second: say it once per outage
                    self._outage = True
                    log.warning("simulator: %s; nothing more is sent until the broker is back, then every state "
                                "is announced again", exc)
                break

    def serve_forever(self) -> None:
        while not self._stop.is_set():
            self.step(0.05)

    def start_thread(self) -> "Simulator":
        self.start()
        self._thread = threading.Thread(target=self.serve_forever, name="simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self, clean: bool = True) -> None:
        """clean=True announces offline and disconnects; clean=False drops the socket like a crash would."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._client is None:
            return
        if clean:
            for message in self.bridge.shutdown_messages():
                self._client.publish(message)
            self._client.close()
        else:
            self._client.kill()
        self._client = None
