"""Shared fixtures: a real Mosquitto per test session (anonymous, and a second one with a password file).

Each broker is started from a generated config bound to 127.0.0.1 on a free port and killed by its PID.
The tests that need it are skipped, with the reason, only when the mosquitto binary is absent.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.adapters import mosquitto
from assistant.errors import BrokerError

MOSQUITTO_CANDIDATES = mosquitto.CANDIDATES
_find = mosquitto.find_binary
free_port = mosquitto.free_port
_start = mosquitto.start
_stop = mosquitto.stop


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    username: str | None = None
    password: str | None = None


class RestartableBroker:
    """A Mosquitto that a test kills (SIGKILL to its own PID, no goodbye) and starts again on the same port.
    persistence is off, so a restarted broker has forgotten every retained message."""

    username: str | None = None
    password: str | None = None

    def __init__(self, binary: str, workdir: Path, conf_lines: list[str] | None = None, port: int | None = None):
        self.binary, self.workdir = binary, workdir
        self.conf_lines = conf_lines if conf_lines is not None else ["allow_anonymous true"]
        self.host, self.port = "127.0.0.1", port or free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> "RestartableBroker":
        deadline = time.monotonic() + 5
        while True:  # the port can linger for a moment after a kill
            try:
                self.proc, _ = _start(self.binary, self.conf_lines, self.workdir, self.port)
                break
            except BrokerError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.starts += 1
        return self

    def kill(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture
def restartable_broker(mosquitto_binary, tmp_path):
    broker = RestartableBroker(mosquitto_binary, tmp_path)
    yield broker
    broker.kill()


@pytest.hookimpl(tryfirst=True)  # before -m selects: the mark must be there when it does
def pytest_collection_modifyitems(items):
    """Every test that reaches a fixture starting Mosquitto (each one asks mosquitto_binary first) carries the
    broker mark, wherever it is written, so `-m "not broker"` runs no broker case."""
    for item in items:
        if "mosquitto_binary" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.broker)


@pytest.fixture(scope="session")
def mosquitto_binary() -> str:
    binary = _find(MOSQUITTO_CANDIDATES)
    if binary is None:
        pytest.skip("mosquitto binary not found (install the Debian package 'mosquitto')")
    return binary


@pytest.fixture(scope="session")
def mosquitto(mosquitto_binary, tmp_path_factory) -> Broker:
    proc, port = _start(mosquitto_binary, ["allow_anonymous true"], tmp_path_factory.mktemp("mosquitto"))
    yield Broker("127.0.0.1", port)
    _stop(proc)


@pytest.fixture(scope="session")
def mosquitto_auth(mosquitto_binary, tmp_path_factory) -> Broker:
    passwd = _find(("mosquitto_passwd", "/usr/bin/mosquitto_passwd"))
    if passwd is None:
        pytest.skip("mosquitto_passwd not found (part of the Debian package 'mosquitto')")
    workdir = tmp_path_factory.mktemp("mosquitto_auth")
    password_file = workdir / "passwords"
    subprocess.run([passwd, "-b", "-c", str(password_file), "lamp", "s3cret-bulb"], check=True,
                   capture_output=True)
    proc, port = _start(mosquitto_binary, ["allow_anonymous false", f"password_file {password_file}"], workdir)
    yield Broker("127.0.0.1", port, "lamp", "s3cret-bulb")
    _stop(proc)


# --------------------------------------------------------------------------- a simulated home on a broker

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


@pytest.fixture
def registry():
    """The demo registry under a base topic of its own, so retained messages never leak between tests."""
    import dataclasses
    import uuid

    from assistant.devices.registry import load_registry

    return dataclasses.replace(load_registry(CONFIG_DIR), base_topic=f"z2m_test_{uuid.uuid4().hex[:10]}")


def mqtt_settings(broker: Broker, **overrides):
    from assistant.config import MqttSettings

    return MqttSettings(host=broker.host, port=broker.port, username=broker.username, password=broker.password,
                        **overrides)


class ManualClock:
    """The simulator's time, moved by the test instead of waited for."""

    def __init__(self, now_s: float = 1000.0):
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


@dataclass
class Home:
    registry: object
    settings: object
    simulator: object
    client: object
    dispatcher: object


@pytest.fixture
def home(mosquitto, registry):
    """Simulator (own thread) + a dispatcher with its own client, both on the session Mosquitto."""
    from assistant.adapters.mqtt import MqttClient
    from assistant.dispatcher import Dispatcher
    from assistant.sim.runner import Simulator

    settings = mqtt_settings(mosquitto, base_topic=registry.base_topic, echo_timeout_ms=1000)
    simulator = Simulator(registry, settings).start_thread()
    client = MqttClient(settings)
    dispatcher = Dispatcher(registry, settings, client)
    yield Home(registry, settings, simulator, client, dispatcher)
    client.close()
    simulator.stop()
