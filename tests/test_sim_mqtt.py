"""The simulated Zigbee2MQTT bridge on a real Mosquitto, seen from a plain MQTT client."""

from __future__ import annotations

import json
import time

import pytest

from assistant.adapters.mqtt import MqttClient
from assistant.errors import BrokerError
from assistant.messages import MqttMessage
from assistant.sim.runner import Simulator

from conftest import mqtt_settings


def collect(client, until, timeout_s=2.0):
    """Messages until `until(message)` is true (inclusive) or the timeout."""
    out = []
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        message = client.get(left)
        if message is None:
            break
        out.append(message)
        if until(message):
            break
    return out


@pytest.fixture
def sim(mosquitto, registry):
    settings = mqtt_settings(mosquitto)
    simulator = Simulator(registry, settings).start_thread()
    client = MqttClient(settings)
    client.subscribe(f"{registry.base_topic}/#")
    yield registry.base_topic, simulator, client
    client.close()
    simulator.stop()


def retained(client, topic, timeout_s=2.0):
    found = collect(client, lambda m: m.topic == topic, timeout_s)
    assert found and found[-1].topic == topic, f"nothing on {topic}"
    return json.loads(found[-1].payload)


def test_bridge_announces_itself_like_zigbee2mqtt(sim, mosquitto):
    base, simulator, client = sim
    messages = collect(client, lambda m: m.topic == f"{base}/air_purifier/availability")
    by_topic = {m.topic: json.loads(m.payload) for m in messages}
    assert by_topic[f"{base}/bridge/state"] == {"state": "online"}
    devices = by_topic[f"{base}/bridge/devices"]
    bulb = next(d for d in devices if d["friendly_name"] == "living_room_lamp")
    assert bulb["definition"]["model"] == "LED1924G9" and bulb["definition"]["vendor"] == "IKEA"
    light = bulb["definition"]["exposes"][0]
    assert light["type"] == "light" and {f["property"] for f in light["features"]} == {"state", "brightness",
                                                                                        "color_temp", "color"}
    [group] = by_topic[f"{base}/bridge/groups"]
    assert group["friendly_name"] == "downstairs_lights" and {s["name"] for s in group["scenes"]} == {"movie_night",
                                                                                                      "relax"}
    assert by_topic[f"{base}/kitchen_light/availability"] == {"state": "online"}
    assert all(m.retain for m in messages)
    with MqttClient(mqtt_settings(mosquitto)) as ha:
        ha.subscribe("homeassistant/light/+/light/config")
        configs = [json.loads(m.payload) for m in collect(ha, lambda m: False, 0.3)]
    mine = [c for c in configs if c["state_topic"].startswith(base + "/")]
    assert len(mine) == 4 and all(c["schema"] == "json" and c["command_topic"].endswith("/set") for c in mine)


@pytest.mark.parametrize("payload", ["not json", '{"brightness": 300}', '{"state": "MAYBE"}', '{"colour": "red"}',
                                     '{"brightness": "full"}', "[]", '{"state": "ON", "x": 1}', "{" * 10000])
def test_invalid_payload_refused_on_bridge_logging_state_intact(sim, payload):
    base, simulator, client = sim
    before = dict(simulator.bridge.states["kitchen_light"])
    client.drain()
    client.publish(MqttMessage(f"{base}/kitchen_light/set", payload))
    [*_, log] = collect(client, lambda m: m.topic == f"{base}/bridge/logging")
    entry = json.loads(log.payload)
    assert entry["level"] == "error" and "'kitchen_light'" in entry["message"]
    assert simulator.bridge.states["kitchen_light"] == before
    client.publish(MqttMessage(f"{base}/kitchen_light/set", '{"state": "TOGGLE"}'))  # still alive
    assert retained(client, f"{base}/kitchen_light")["state"] == ("OFF" if before["state"] == "ON" else "ON")


def test_scene_store_and_recall_on_the_group_topic(sim):
    base, simulator, client = sim
    client.publish(MqttMessage(f"{base}/downstairs_lights/set", '{"state": "ON", "brightness": 42}'))
    collect(client, lambda m: m.topic == f"{base}/downstairs_lights")
    client.publish(MqttMessage(f"{base}/downstairs_lights/set", '{"scene_store": {"ID": 7, "name": "dim"}}'))
    groups = retained(client, f"{base}/bridge/groups")
    assert {"id": 7, "name": "dim"} in groups[0]["scenes"]
    client.publish(MqttMessage(f"{base}/downstairs_lights/set", '{"state": "OFF"}'))
    collect(client, lambda m: m.topic == f"{base}/downstairs_lights")
    client.publish(MqttMessage(f"{base}/downstairs_lights/set", '{"scene_recall": 7}'))
    collect(client, lambda m: m.topic == f"{base}/downstairs_lights")
    for member in ("kitchen_light", "living_room_lamp"):
        assert simulator.bridge.states[member]["state"] == "ON"
        assert simulator.bridge.states[member]["brightness"] == 42


def test_unreachable_control_topic_and_get(sim):
    base, simulator, client = sim
    request = f"{base}/bridge/request/simulate/unreachable"
    client.publish(MqttMessage(request, '{"id": "coffee_maker", "value": true, "transaction": 5}'))
    response = retained(client, f"{base}/bridge/response/simulate/unreachable")
    assert response == {"data": {"id": "coffee_maker", "value": True}, "status": "ok", "transaction": 5}
    assert retained(client, f"{base}/coffee_maker/availability") == {"state": "offline"}
    client.publish(MqttMessage(f"{base}/coffee_maker/set", '{"state": "ON"}'))
    silent = collect(client, lambda m: m.topic == f"{base}/coffee_maker", 0.3)
    assert not any(m.topic == f"{base}/coffee_maker" for m in silent)
    client.publish(MqttMessage(request, '{"id": "coffee_maker", "value": false}'))
    assert retained(client, f"{base}/coffee_maker/availability") == {"state": "online"}
    client.publish(MqttMessage(f"{base}/coffee_maker/get", '{"state": ""}'))
    assert retained(client, f"{base}/coffee_maker") == {"state": "OFF"}
    client.publish(MqttMessage(request, '{"id": "toaster"}'))
    assert retained(client, f"{base}/bridge/response/simulate/unreachable")["status"] == "error"


def test_killed_simulator_reads_offline_and_a_restart_restores_state(mosquitto, registry):
    settings = mqtt_settings(mosquitto)
    base = registry.base_topic
    first = Simulator(registry, settings).start_thread()
    with MqttClient(settings) as client:
        client.subscribe(f"{base}/bridge/state", f"{base}/desk_lamp")
        client.publish(MqttMessage(f"{base}/desk_lamp/set", '{"state": "ON", "brightness": 99, "color_temp": 300}'))
        collect(client, lambda m: m.topic == f"{base}/desk_lamp" and '"brightness":99' in m.payload)
        first.stop(clean=False)  # like kill -9: no goodbye, the broker publishes the last will
        assert retained(client, f"{base}/bridge/state") == {"state": "offline"}
    second = Simulator(registry, settings).start_thread()
    try:
        assert "desk_lamp" in second.restored
        assert second.bridge.states["desk_lamp"] == {"state": "ON", "brightness": 99, "color_temp": 300}
    finally:
        second.stop()


def test_a_second_simulator_on_the_same_base_topic_refuses_and_leaves_the_first_alone(sim, mosquitto, registry):
    """Two simulators under one base topic would both answer every command, and stopping one published
    'offline' for the devices the other still served. The second now refuses at start, in one line."""
    base, first, client = sim
    second = Simulator(registry, mqtt_settings(mosquitto))
    with pytest.raises(BrokerError) as refused:
        second.start()
    second.stop()  # as 'assistant simulate' does on its way out
    assert f"already serves {base}/" in str(refused.value) and "base_topic" in str(refused.value)
    assert "\n" not in str(refused.value)
    with MqttClient(mqtt_settings(mosquitto)) as fresh:
        for topic in (f"{base}/bridge/state", f"{base}/desk_lamp/availability"):
            fresh.subscribe(topic)
            assert retained(fresh, topic) == {"state": "online"}
    client.drain()
    client.publish(MqttMessage(f"{base}/desk_lamp/set", '{"state": "ON"}'))
    assert retained(client, f"{base}/desk_lamp")["state"] == "ON"  # the first still serves


def test_a_stale_online_announcement_does_not_keep_a_simulator_from_starting(mosquitto, registry):
    """A bridge that could not say goodbye (the broker went first) leaves bridge/state 'online' retained.
    Nothing answers the health check, so the simulator takes over."""
    settings = mqtt_settings(mosquitto)
    base = registry.base_topic
    with MqttClient(settings) as client:
        client.publish(MqttMessage(f"{base}/bridge/state", '{"state": "online"}', 1, True))
    simulator = Simulator(registry, settings)
    simulator.health_check_timeout_s = 0.3
    simulator.start_thread()
    try:
        with MqttClient(settings) as client:
            client.subscribe(f"{base}/bridge/response/health_check")
            client.publish(MqttMessage(f"{base}/bridge/request/health_check", '{"transaction": 7}'))
            assert retained(client, f"{base}/bridge/response/health_check") == {
                "data": {"healthy": True}, "status": "ok", "transaction": 7}
    finally:
        simulator.stop()


def test_devices_from_broker_builds_a_registry(sim, mosquitto, tmp_path, capsys):
    from assistant.cli import main
    from assistant.devices.registry import load_registry

    base, simulator, client = sim
    code = main(["devices", "--from-broker", "--broker", f"{mosquitto.host}:{mosquitto.port}",
                 "--base-topic", base, "--write", str(tmp_path)])
    assert code == 0
    rebuilt = load_registry(tmp_path)
    assert set(rebuilt.devices) == set(simulator.bridge.registry.devices)
    assert rebuilt.devices["living_room_blinds"].spec.model == "E1757"
    assert rebuilt.devices["kitchen_light"].area == "kitchen"
    assert rebuilt.groups["downstairs_lights"].members == ("kitchen_light", "living_room_lamp")
    assert "movie_night" in rebuilt.scenes
    assert "kitchen light" in capsys.readouterr().out


def test_devices_from_broker_keeps_an_existing_file_unless_forced(sim, mosquitto, tmp_path, capsys):
    from assistant.cli import main

    base, simulator, client = sim
    hand_made = tmp_path / "devices.yaml"
    hand_made.write_text("# my names for things\n", encoding="utf-8")
    args = ["devices", "--from-broker", "--broker", f"{mosquitto.host}:{mosquitto.port}", "--base-topic", base,
            "--write", str(hand_made)]
    assert main(args) == 1
    assert "exists" in capsys.readouterr().err and hand_made.read_text() == "# my names for things\n"
    assert main(args + ["--force"]) == 0
    assert "kitchen_light" in hand_made.read_text()
