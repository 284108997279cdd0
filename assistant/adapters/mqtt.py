"""The paho-mqtt adapter: the only module that imports paho. paho's loop thread feeds a queue.Queue.

Subscriptions are remembered and renewed in on_connect, so a broker restart heals itself (paho
reconnects with backoff, settings.reconnect_min_ms doubling up to reconnect_max_ms). By default a
broker that cannot be reached, or refuses us, is one BrokerError line; with required=False an absent
broker is one warning line and the client keeps trying in the background (`connected`,
`connections` and `wait_connected()` tell callers where it stands).

A QoS 1 message that the broker does not acknowledge in time is withdrawn from paho's queue before
publish() raises, so a command reported as failed is never delivered late after a reconnect.
Credentials never appear in a log line or an error message.
"""

from __future__ import annotations

import itertools
import logging
import queue
import socket
import ssl
import threading
import time
from typing import Any

from ..config import MqttSettings
from ..errors import BrokerError
from ..messages import MqttMessage
from ..mqtt_codec import CONNECTED_TOPIC

log = logging.getLogger(__name__)
_paho_log = logging.getLogger(__name__ + ".paho")

_ids = itertools.count(1)
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only
MAX_INCOMING_BYTES = 4 * 1024 * 1024  # larger payloads are dropped unread (a big bridge/devices is < 1 MiB)


def _paho():
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        raise BrokerError("paho-mqtt is not installed; run: .venv/bin/pip install 'paho-mqtt>=2,<3'") from None
    return mqtt


class MqttClient:
    """A connected MQTT client. Incoming messages wait in a queue; read them with get()/drain()."""

    def __init__(self, settings: MqttSettings, client_id: str | None = None, will: MqttMessage | None = None,
                 connect_timeout_s: float = 5.0, required: bool = True,
                 meanwhile: str = "carrying on and reconnecting in the background"):
        self.settings = settings
        self._meanwhile = meanwhile  # what happens while an optional broker is away, for the warning
        self._queue: queue.Queue[MqttMessage] = queue.Queue()
        self._subscriptions: dict[str, int] = {}
        self._connected = threading.Event()  # the first CONNACK (accepted or refused) has arrived
        self._online = threading.Event()  # connected right now
        self._connack: Any = None
        self._down_since: float | None = None
        self.connections = 0  # successful CONNACKs so far; a change means "reconnected, state may be stale"
        self.dropped_qos0 = 0
        self.dropped_oversized = 0
        self._report_connections = False  # set once the constructor is done: later connections are news
        self._suback: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        mqtt = _paho()
        self._mqtt = mqtt
        cid = client_id or f"assistant-{_ids.__next__()}-{time.monotonic_ns() % 1_000_000}"
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv311)
        if _paho_log.isEnabledFor(logging.DEBUG):  # -vv: every packet (paho never logs credentials)
            # All at DEBUG: paho reports each failed reconnect attempt as an error, which would drown
            # the one warning line an outage deserves.
            self._client.on_log = lambda client, userdata, level, text: _paho_log.debug("%s", text)
        if settings.username:
            self._client.username_pw_set(settings.username, settings.password)
        if settings.tls_ca:
            try:
                self._client.tls_set(ca_certs=settings.tls_ca)
            except (OSError, ValueError) as exc:
                raise BrokerError(f"cannot use TLS CA file {settings.tls_ca}: {exc}") from None
        if will is not None:
            self._client.will_set(will.topic, will.payload, will.qos, will.retain)
        low = max(settings.reconnect_min_ms, 50) / 1000
        self._client.reconnect_delay_set(min_delay=low, max_delay=max(settings.reconnect_max_ms / 1000, low))
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_socket_open = self._on_socket_open
        self._client.on_publish = self._on_publish
        self._connect(connect_timeout_s, required)
        self._report_connections = True

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    @property
    def connected(self) -> bool:
        return self._online.is_set()

    @property
    def refused(self) -> str | None:
        """The broker's reason when it answered but refused us (bad credentials, not authorised), else None."""
        return None if self._online.is_set() else self._connack

    def wait_connected(self, timeout_s: float) -> bool:
        """True as soon as the broker accepts us; False if it has not within timeout_s."""
        return self._online.wait(max(0.0, timeout_s))

    def _connect(self, timeout_s: float, required: bool) -> None:
        hint = "start Mosquitto there (scripts/setup.sh installs it) or pass --broker HOST:PORT"
        host, port, keepalive = self.settings.host, self.settings.port, self.settings.keepalive_s
        try:
            self._client.connect(host, port, keepalive=keepalive)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            if isinstance(exc, ssl.SSLError):  # a certificate problem will not heal by waiting
                raise BrokerError(f"TLS with MQTT broker at {self.where} failed ({reason}); check --tls-ca "
                                  "and that the broker's certificate names this host") from None
            if required or isinstance(exc, ValueError):
                raise BrokerError(f"cannot reach MQTT broker at {self.where} ({reason}); {hint}") from None
            log.warning("MQTT broker at %s is unavailable (%s); %s", self.where, reason, self._meanwhile)
            self._down_since = time.monotonic()
            self._client.connect_async(host, port, keepalive=keepalive)
            self._client.loop_start()
            return
        self._client.loop_start()
        if not self._connected.wait(timeout_s) or self._connack is not None:
            reason = self._connack or f"no answer within {timeout_s:g} s"
            if required or self._connack is not None:  # a refusal is a setting to fix, not a fault to wait out
                self._client.loop_stop()
                self._client.disconnect()
                raise BrokerError(f"MQTT broker at {self.where} refused the connection ({reason}); "
                                  "check --username/--password/--tls-ca")
            log.warning("MQTT broker at %s is unavailable (%s); %s", self.where, reason, self._meanwhile)
            self._down_since = time.monotonic()
            return
        log.info("connected to MQTT broker at %s", self.where)

    # ------------------------------------------------------------------ paho callbacks (loop thread)

    @staticmethod
    def _on_socket_open(client, userdata, sock) -> None:
        # Without this, Nagle holds a PUBLISH that follows a PUBACK until the peer's delayed ACK: +40 ms.
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass  # not a TCP socket (e.g. websockets wrapper); latency only

    def _quick_ack(self) -> None:
        # Brokers with Nagle on (Mosquitto's default) hold the echo behind our delayed ACK of their
        # PUBACK. Asking the kernel to ACK at once after every packet we read removes that ~40 ms.
        sock = self._client.socket()
        if sock is not None and _QUICKACK is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            except OSError:
                pass

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._quick_ack()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            if not self._connected.is_set():  # the first answer: the constructor reports it
                self._connack = str(reason_code)
                self._connected.set()
                client.disconnect()
            elif self._down_since is not None:
                log.debug("MQTT broker at %s refused the reconnection (%s); retrying", self.where, reason_code)
            return
        if self._down_since is not None:
            log.warning("MQTT broker at %s is back after %.1f s", self.where, time.monotonic() - self._down_since)
            self._down_since = None
        # Under the lock until online: a subscribe() in between would otherwise see "offline", leave its
        # topic to this callback, and this callback would already have sent its list without it.
        with self._lock:
            topics = list(self._subscriptions.items())
            if topics:
                client.subscribe(topics)
            self._connack = None
            self.connections += 1
            if self._report_connections:  # readers learn of it in order with the messages around it
                self._queue.put(MqttMessage(CONNECTED_TOPIC, "", 0, False))
            self._online.set()
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_online = self._online.is_set()
        self._online.clear()
        if reason_code.is_failure and was_online:
            self._down_since = time.monotonic()
            log.warning("lost MQTT broker at %s (%s); reconnecting in the background", self.where, reason_code)

    def _on_message(self, client, userdata, msg) -> None:
        self._quick_ack()
        if len(msg.payload) > MAX_INCOMING_BYTES:
            self.dropped_oversized += 1
            log.debug("dropped a %d-byte message on %s (limit %d)", len(msg.payload), msg.topic, MAX_INCOMING_BYTES)
            return
        payload = msg.payload.decode("utf-8", "replace")
        self._queue.put(MqttMessage(msg.topic, payload, msg.qos, bool(msg.retain)))

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self._lock:
            event = self._suback.pop(mid, None)
        if event is not None:
            event.set()

    # ------------------------------------------------------------------ API

    def subscribe(self, *topics: str, qos: int = 1, timeout_s: float = 5.0) -> None:
        """Subscribe (and keep the subscription across reconnects); returns after the broker's SUBACK.
        While disconnected it only remembers the topics: on_connect subscribes them on reconnection."""
        new = [t for t in topics if t not in self._subscriptions]
        if not new:
            return
        event = threading.Event()
        with self._lock:
            for t in new:
                self._subscriptions[t] = qos
            if not self.connected:
                return
            rc, mid = self._client.subscribe([(t, qos) for t in new])
            if rc == self._mqtt.MQTT_ERR_SUCCESS:
                self._suback[mid] = event
        if rc == self._mqtt.MQTT_ERR_NO_CONN:
            return  # dropped just now; on_connect will subscribe
        if rc != self._mqtt.MQTT_ERR_SUCCESS:
            raise BrokerError(f"cannot subscribe on {self.where}: {self._mqtt.error_string(rc)}")
        if not event.wait(timeout_s) and self.connected:
            raise BrokerError(f"MQTT broker at {self.where} did not confirm the subscription to {new[0]}")

    def unsubscribe(self, *topics: str) -> None:
        with self._lock:
            for t in topics:
                self._subscriptions.pop(t, None)
        self._client.unsubscribe(list(topics))

    def publish(self, message: MqttMessage, timeout_s: float = 5.0) -> None:
        """Publish and, for QoS >= 1, wait for the broker's acknowledgement. Raises BrokerError when the
        broker is unavailable; the message is then withdrawn, never sent later. QoS 0 messages (events,
        at most once by definition) are dropped while disconnected and counted in dropped_qos0."""
        if message.qos == 0 and not self.connected:
            self.dropped_qos0 += 1
            log.debug("broker unavailable; dropped QoS 0 message to %s", message.topic)
            return
        info = self._client.publish(message.topic, message.payload.encode("utf-8"), message.qos, message.retain)
        if message.qos == 0:
            if info.rc not in (self._mqtt.MQTT_ERR_SUCCESS, self._mqtt.MQTT_ERR_QUEUE_SIZE, self._mqtt.MQTT_ERR_NO_CONN):
                raise BrokerError(f"cannot publish to {self.where}: {self._mqtt.error_string(info.rc)}")
            return
        if info.rc == self._mqtt.MQTT_ERR_NO_CONN:
            self._withdraw(info.mid)
            raise BrokerError(f"broker unavailable at {self.where}: not connected, {message.topic} not sent")
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError) as exc:
            self._withdraw(info.mid)
            raise BrokerError(f"cannot publish to {self.where}: {exc}") from None
        if not info.is_published():
            self._withdraw(info.mid)
            raise BrokerError(f"broker unavailable at {self.where}: {message.topic} not acknowledged within "
                              f"{timeout_s:g} s, withdrawn")

    def _withdraw(self, mid: int) -> None:
        # paho keeps unacknowledged QoS 1 messages and resends them after reconnecting. A command the
        # caller has been told failed must not switch a lamp minutes later, so take it out of the queue.
        # (paho has no public call for this; pinned to paho-mqtt 2.x, covered by tests/test_faults_broker.py.)
        client = self._client
        with client._out_message_mutex:
            pending = client._out_messages.pop(mid, None)
            if pending is not None and pending.state == self._mqtt.mqtt_ms_wait_for_puback \
                    and client._inflight_messages > 0:
                client._inflight_messages -= 1

    def get(self, timeout_s: float) -> MqttMessage | None:
        """The next incoming message, or None after timeout_s."""
        try:
            return self._queue.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            return None

    def drain(self) -> list[MqttMessage]:
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        """Clean disconnect (the broker does NOT send the last will)."""
        self._client.disconnect()
        self._client.loop_stop()

    def kill(self) -> None:
        """Drop the connection without DISCONNECT, as a crash would: the broker sends the last will."""
        self._client.loop_stop()
        sock = self._client.socket()
        if sock is not None:
            sock.close()

    def __enter__(self) -> "MqttClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
