"""The broker `demo` and `simulate --embedded` start for themselves must be a correct MQTT broker.

amqtt 0.12.1, the demo's broker until now, handed a subscriber of foo/bar every retained zigbee2mqtt state,
and lost about 2 in 3 one-shot QoS 0 publishes (mosquitto_pub -t ... -m ..., a new connection each). These
tests run against the broker the real `assistant simulate --embedded` starts, with its simulator on it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from assistant.adapters.mosquitto import find_binary
from assistant.adapters.mqtt import MqttClient
from assistant.config import MqttSettings
from assistant.messages import MqttMessage

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def simulated_home(tmp_path_factory):
    """`assistant simulate --embedded` as a user starts it; its first line says where the broker is."""
    tmp = tmp_path_factory.mktemp("simulate_tmp")
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "simulate", "--embedded"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        found = re.match(r"MQTT broker \((\w+)\) on 127\.0\.0\.1:(\d+);", first)
        assert found, (first, proc.stderr.read() if proc.poll() is not None else "")
        ready = proc.stdout.readline()
        assert ready.startswith("simulating "), ready
        yield {"kind": found[1], "port": int(found[2]), "proc": proc, "tmp": tmp}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # this PID only: the command the fixture started
            proc.wait(timeout=10)


def test_the_own_broker_is_mosquitto_where_the_binary_exists(simulated_home):
    expected = "mosquitto" if find_binary() else "amqtt"
    assert simulated_home["kind"] == expected


def test_a_subscriber_of_one_topic_gets_that_topic_and_nothing_else(simulated_home):
    settings = MqttSettings(port=simulated_home["port"])
    with MqttClient(settings) as client:
        client.subscribe("foo/bar")
        with MqttClient(settings) as publisher:
            publisher.publish(MqttMessage("foo/other", "no", 1))
            publisher.publish(MqttMessage("foo/bar", "yes", 1))
        time.sleep(0.5)  # the simulator's retained states would have arrived by now
        got = [(m.topic, m.payload) for m in client.drain()]
    assert got == [("foo/bar", "yes")]


def test_thirty_one_shot_qos0_publishes_all_arrive(simulated_home):
    """Each publish on a connection of its own, as mosquitto_pub does it."""
    import paho.mqtt.publish as one_shot

    topic = f"test/{uuid.uuid4().hex[:8]}"
    with MqttClient(MqttSettings(port=simulated_home["port"])) as client:
        client.subscribe(topic, qos=0)
        for i in range(30):
            one_shot.single(topic, str(i), qos=0, hostname="127.0.0.1", port=simulated_home["port"])
        got: list[str] = []
        deadline = time.monotonic() + 5
        while len(got) < 30 and time.monotonic() < deadline:
            message = client.get(0.2)
            if message is not None:
                got.append(message.payload)
    assert got == [str(i) for i in range(30)]


def test_one_shot_brightness_commands_all_reach_the_simulated_lamp(simulated_home):
    import json

    import paho.mqtt.publish as one_shot

    with MqttClient(MqttSettings(port=simulated_home["port"])) as client:
        client.subscribe("zigbee2mqtt/desk_lamp")
        time.sleep(0.3)
        client.drain()  # the retained state
        for level in range(10, 110, 10):
            one_shot.single("zigbee2mqtt/desk_lamp/set", json.dumps({"brightness": level}), qos=0,
                            hostname="127.0.0.1", port=simulated_home["port"])
            time.sleep(0.05)
        seen, deadline = set(), time.monotonic() + 5
        while len(seen) < 10 and time.monotonic() < deadline:
            message = client.get(0.2)
            if message is not None:
                seen.add(json.loads(message.payload).get("brightness"))
    assert seen >= set(range(10, 110, 10))


def test_stopping_the_command_stops_its_broker_and_leaves_no_files(simulated_home):
    # runs last in this module: it ends the command the others used
    proc, port = simulated_home["proc"], simulated_home["port"]
    assert list(simulated_home["tmp"].iterdir())  # the broker's config and log, while it runs
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert list(simulated_home["tmp"].iterdir()) == []
    import socket

    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_without_mosquitto_the_fallback_says_in_one_line_what_is_degraded(monkeypatch):
    from assistant.adapters import mosquitto
    from assistant.app import start_own_broker

    monkeypatch.setattr(mosquitto, "find_binary", lambda names=mosquitto.CANDIDATES: None)
    said: list[str] = []
    broker = start_own_broker(say=said.append)
    try:
        assert broker.kind == "amqtt" and broker.host == "127.0.0.1"
        with MqttClient(MqttSettings(port=broker.port)) as client:  # a plain session still works on it
            client.subscribe("fallback/x")
            client.publish(MqttMessage("fallback/x", "hello", 1))
            assert client.get(3).payload == "hello"
    finally:
        broker.stop()
    assert len(said) == 1 and "\n" not in said[0]
    assert "amqtt" in said[0] and "retained" in said[0] and "QoS 0" in said[0] and "mosquitto" in said[0]
