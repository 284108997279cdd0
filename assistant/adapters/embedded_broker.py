"""An in-process MQTT broker (amqtt) for the zero-setup demo: own thread, own event loop, 127.0.0.1 only.

amqtt is imported here and nowhere else. It is only the fallback for a machine without Mosquitto
(assistant.app.start_own_broker): amqtt 0.12.1 hands other topics' retained messages to a subscriber, and
loses one-shot QoS 0 publishes (a new connection each) about 2 times in 3.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

from ..errors import BrokerError

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class EmbeddedBroker:
    """start() -> (host, port); stop() shuts the broker and its loop down."""

    kind = "amqtt"
    # What a user of this broker must know, in one line (see the module docstring).
    degraded = ("a subscriber may also get other topics' retained messages, and one-shot QoS 0 publishes "
                "(a new connection each) may be lost")

    def __init__(self, host: str = "127.0.0.1", port: int | None = None):
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> tuple[str, int]:
        try:
            from amqtt.broker import Broker
        except ImportError:
            raise BrokerError("amqtt is not installed; run: .venv/bin/pip install amqtt==0.12.1") from None
        if self.port is None:
            self.port = _free_port(self.host)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        self._loop = asyncio.new_event_loop()

        async def boot() -> None:
            # amqtt wants to be constructed inside its running loop
            self._broker = Broker(config, loop=self._loop)
            await self._broker.start()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(boot())
            except BaseException as exc:  # reported to the starting thread as one BrokerError
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="embedded-mqtt-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._error is not None:
            reason = self._error or f"not ready within {START_TIMEOUT_S:g} s"
            raise BrokerError(f"embedded MQTT broker could not start on {self.host}:{self.port} ({reason})")
        log.info("embedded MQTT broker listening on %s:%d", self.host, self.port)
        return self.host, self.port

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        if self._broker is not None and self._loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
            try:
                future.result(timeout=5)
            except Exception as exc:  # shutting down anyway; say why it was untidy
                log.warning("embedded broker shutdown: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
        self._loop = self._thread = self._broker = None

    def __enter__(self) -> "EmbeddedBroker":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
