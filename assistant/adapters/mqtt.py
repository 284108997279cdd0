"""The paho-mqtt adapter: the only module that imports paho. paho's loop thread feeds a queue.Queue.

Subscriptions are remembered and renewed in on_connect, so a broker restart heals itself (paho
reconnects with backoff). A broker that cannot be reached, or refuses us, is one BrokerError line.
"""

from __future__ import annotations

import itertools
import logging
import queue
import socket
import threading
import time
from typing import Any

from ..config import MqttSettings
from ..errors import BrokerError
from ..messages import MqttMessage

log = logging.getLogger(__name__)

_ids = itertools.count(1)
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only


def _paho():
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        raise BrokerError("paho-mqtt is not installed; run: .venv/bin/pip install 'paho-mqtt>=2,<3'") from None
    return mqtt


class MqttClient:
    """A connected MQTT client. Incoming messages wait in a queue; read them with get()/drain()."""

    def __init__(self, settings: MqttSettings, client_id: str | None = None, will: MqttMessage | None = None,
                 connect_timeout_s: float = 5.0):
        self.settings = settings
        self._queue: queue.Queue[MqttMessage] = queue.Queue()
        self._subscriptions: dict[str, int] = {}
        self._connected = threading.Event()
        self._connack: Any = None
        self._suback: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        mqtt = _paho()
        self._mqtt = mqtt
        cid = client_id or f"assistant-{_ids.__next__()}-{time.monotonic_ns() % 1_000_000}"
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv311)
        if settings.username:
            self._client.username_pw_set(settings.username, settings.password)
        if settings.tls_ca:
            try:
                self._client.tls_set(ca_certs=settings.tls_ca)
            except (OSError, ValueError) as exc:
                raise BrokerError(f"cannot use TLS CA file {settings.tls_ca}: {exc}") from None
        if will is not None:
            self._client.will_set(will.topic, will.payload, will.qos, will.retain)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_socket_open = self._on_socket_open
        self._client.on_publish = self._on_publish
        self._connect(connect_timeout_s)

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _connect(self, timeout_s: float) -> None:
        hint = "start Mosquitto (or 'assistant demo' for the embedded broker) or pass --broker HOST:PORT"
        try:
            self._client.connect(self.settings.host, self.settings.port, keepalive=self.settings.keepalive_s)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise BrokerError(f"cannot reach MQTT broker at {self.where} ({reason}); {hint}") from None
        self._client.loop_start()
        if not self._connected.wait(timeout_s) or self._connack is not None:
            reason = self._connack or f"no answer within {timeout_s:g} s"
            self._client.loop_stop()
            self._client.disconnect()
            raise BrokerError(f"MQTT broker at {self.where} refused the connection ({reason}); "
                              "check --username/--password/--tls-ca")
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
            self._connack = str(reason_code)
            self._connected.set()
            client.disconnect()
            return
        with self._lock:
            topics = list(self._subscriptions.items())
        if topics:
            client.subscribe(topics)
        self._connack = None
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("lost MQTT broker at %s (%s); reconnecting", self.where, reason_code)

    def _on_message(self, client, userdata, msg) -> None:
        self._quick_ack()
        payload = msg.payload.decode("utf-8", "replace")
        self._queue.put(MqttMessage(msg.topic, payload, msg.qos, bool(msg.retain)))

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self._lock:
            event = self._suback.pop(mid, None)
        if event is not None:
            event.set()

    # ------------------------------------------------------------------ API

    def subscribe(self, *topics: str, qos: int = 1, timeout_s: float = 5.0) -> None:
        """Subscribe (and keep the subscription across reconnects); returns after the broker's SUBACK."""
        new = [t for t in topics if t not in self._subscriptions]
        if not new:
            return
        event = threading.Event()
        with self._lock:
            for t in new:
                self._subscriptions[t] = qos
            rc, mid = self._client.subscribe([(t, qos) for t in new])
            if rc == self._mqtt.MQTT_ERR_SUCCESS:
                self._suback[mid] = event
        if rc != self._mqtt.MQTT_ERR_SUCCESS:
            raise BrokerError(f"cannot subscribe on {self.where}: {self._mqtt.error_string(rc)}")
        if not event.wait(timeout_s):
            raise BrokerError(f"MQTT broker at {self.where} did not confirm the subscription to {new[0]}")

    def unsubscribe(self, *topics: str) -> None:
        with self._lock:
            for t in topics:
                self._subscriptions.pop(t, None)
        self._client.unsubscribe(list(topics))

    def publish(self, message: MqttMessage, timeout_s: float = 5.0) -> None:
        """Publish and, for QoS >= 1, wait for the broker's acknowledgement."""
        info = self._client.publish(message.topic, message.payload.encode("utf-8"), message.qos, message.retain)
        if info.rc not in (self._mqtt.MQTT_ERR_SUCCESS, self._mqtt.MQTT_ERR_QUEUE_SIZE) and message.qos == 0:
            raise BrokerError(f"cannot publish to {self.where}: {self._mqtt.error_string(info.rc)}")
        if message.qos > 0:
            try:
                info.wait_for_publish(timeout_s)
            except (RuntimeError, ValueError) as exc:
                raise BrokerError(f"cannot publish to {self.where}: {exc}") from None
            if not info.is_published():
                raise BrokerError(f"MQTT broker at {self.where} did not acknowledge {message.topic} within {timeout_s:g} s")

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
