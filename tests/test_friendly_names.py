"""Zigbee2MQTT friendly names as real homes have them ("Kitchen/Ceiling", "lamp 12", "Küche Lampe"): from
bridge/devices to the registry, the topics, the spoken names and the skip lines of `devices --from-broker`."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.devices.discover import registry_data, registry_from_bridge
from assistant.devices.registry import load_registry, name_problem
from assistant.errors import ConfigError
from assistant.devices.spoken import Unspeakable, speakable
from assistant.mqtt_codec import Route, TopicKind, Topics

CONFIG = Path(__file__).resolve().parent.parent / "config"


def bridge_device(name: str, model: str = "LED1545G12") -> dict:
    """One bridge/devices entry, as Zigbee2MQTT publishes it (only what discovery reads)."""
    return {"friendly_name": name, "ieee_address": f"0x{abs(hash(name)):016x}"[:18], "type": "Router",
            "definition": {"model": model, "vendor": "IKEA", "exposes": []}}


def with_device(tmp_path: Path, entry: str) -> Path:
    """A copy of the shipped config with one more device in devices.yaml."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    text = (config / "devices.yaml").read_text()
    (config / "devices.yaml").write_text(text.replace("\ngroups:", f"\n{entry}\n\ngroups:", 1))
    return config


# --------------------------------------------------------------------------- names with '/'

def test_a_slash_named_device_is_a_registry_device_with_nested_topics(tmp_path):
    config = with_device(tmp_path, '  "Kitchen/Ceiling":\n    model: LED1545G12\n    area: kitchen')
    registry = load_registry(config)
    assert registry.devices["Kitchen/Ceiling"].say == ("kitchen ceiling",)  # the default spoken name
    topics = Topics("zigbee2mqtt")
    assert topics.set("Kitchen/Ceiling") == "zigbee2mqtt/Kitchen/Ceiling/set"
    assert topics.route("zigbee2mqtt/Kitchen/Ceiling") == Route(TopicKind.STATE, "Kitchen/Ceiling")
    assert topics.route("zigbee2mqtt/Kitchen/Ceiling/set") == Route(TopicKind.SET, "Kitchen/Ceiling")
    assert topics.route("zigbee2mqtt/Kitchen/Ceiling/availability") == Route(TopicKind.AVAILABILITY, "Kitchen/Ceiling")
    assert topics.route("zigbee2mqtt/kitchen_light/get") == Route(TopicKind.GET, "kitchen_light")
    assert topics.route("zigbee2mqtt/bridge/state") == Route(TopicKind.BRIDGE, "state")
    assert topics.route("zigbee2mqtt/Kitchen//Ceiling") is None
    # the single-level wildcard misses nested names, so they are followed by name
    assert "zigbee2mqtt/Kitchen/Ceiling" in topics.follow_patterns(registry.devices)


@pytest.mark.parametrize("name, why", [
    ("Kitchen/", "a / must stand between two parts"),
    ("/Kitchen", "a / must stand between two parts"),
    ("Kitchen//Ceiling", "a / must stand between two parts"),
    ("Lamp/2", "as an endpoint"),
    ("Lamp/set", "reads as a command topic"),
    ("Lamp+1", "it holds +"),
    ("bridge/lamp", "Zigbee2MQTT's own topics"),
])
def test_a_name_that_cannot_be_a_topic_says_why(tmp_path, name, why):
    assert why in name_problem(name)
    config = with_device(tmp_path, f'  "{name}":\n    model: LED1545G12\n    say: [odd lamp]')
    with pytest.raises(ConfigError, match=f"devices.yaml:\\d+.*invalid name '{name.replace('+', '[+]')}'"):
        load_registry(config)


def test_devices_from_broker_keeps_a_slash_named_device(tmp_path):
    registry, text, notes = registry_from_bridge([bridge_device("Kitchen/Ceiling")], [], "zigbee2mqtt")
    device = registry.devices["Kitchen/Ceiling"]
    assert device.say == ("kitchen ceiling",) and device.area == "kitchen"
    assert not [n for n in notes if n.startswith("skipped")]
    (tmp_path / "devices.yaml").write_text(text)
    assert "Kitchen/Ceiling" in load_registry(tmp_path).devices  # the written file loads again


def test_a_slash_named_device_is_understood_switched_and_confirmed(mosquitto, tmp_path):
    """End to end on a real Mosquitto: spoken name -> intent -> nested /set topic -> the simulated bulb's
    report on the nested state topic -> done."""
    import dataclasses

    from assistant.adapters.mqtt import MqttClient
    from assistant.dispatcher import Dispatcher
    from assistant.intents import match
    from assistant.app import load_language
    from assistant.messages import Outcome
    from assistant.sim.runner import Simulator

    from conftest import mqtt_settings

    config = with_device(tmp_path, '  "Kitchen/Ceiling":\n    model: LED1545G12\n    area: kitchen')
    [intent] = match(load_language(load_settings(config)), "turn on the kitchen ceiling")
    assert (intent.name, dict(intent.slots)) == ("HassTurnOn", {"name": "Kitchen/Ceiling"})
    registry = dataclasses.replace(load_registry(config), base_topic=f"z2m_test_{uuid.uuid4().hex[:10]}")
    settings = mqtt_settings(mosquitto, base_topic=registry.base_topic, echo_timeout_ms=1000)
    simulator = Simulator(registry, settings).start_thread()
    client = MqttClient(settings)
    try:
        result = Dispatcher(registry, settings, client).dispatch([intent])
    finally:
        client.close()
        simulator.stop()
    assert [m.topic for m in result.messages] == [f"{registry.base_topic}/Kitchen/Ceiling/set"]
    [outcome] = result.outcomes
    assert outcome.outcome == Outcome.DONE and outcome.state["state"] == "ON"


# --------------------------------------------------------------------------- numbers in names

def skipped(notes: list[str]) -> dict[str, str]:
    return dict(n[len("skipped "):].split(": ", 1) for n in notes if n.startswith("skipped "))


def test_numbers_in_names_are_spoken_as_the_grammar_says_them():
    """Numbers over ten used to vanish ("lamp 12" -> "lamp"), so "lamp 13" was then a duplicate."""
    assert speakable("hue_lamp_12") == "hue lamp twelve"
    assert speakable("Lamp2") == "lamp two" and speakable("bulb 2700") == "bulb two thousand seven hundred"
    data, notes = registry_data([bridge_device("lamp 12"), bridge_device("lamp 13"), bridge_device("hue_lamp_12")],
                                [], "zigbee2mqtt")
    assert {name: d["say"] for name, d in data["devices"].items()} == {
        "lamp 12": ["lamp twelve"], "lamp 13": ["lamp thirteen"], "hue_lamp_12": ["hue lamp twelve"]}
    assert skipped(notes) == {}


def test_a_number_without_a_spoken_form_or_a_taken_name_says_which():
    _, notes = registry_data([bridge_device("lamp 12"), bridge_device("lamp_12"), bridge_device("lamp 12345")],
                             [], "zigbee2mqtt")
    why = skipped(notes)
    assert why["lamp_12"].startswith("its spoken name 'lamp twelve' is already taken by 'lamp 12'; rename one")
    assert why["lamp 12345"].startswith("its number 12345 has no spoken form here (numbers up to 9999")


# --------------------------------------------------------------------------- names in other alphabets

def test_accents_fold_to_ascii_and_other_scripts_say_why():
    assert speakable("Küche Lampe") == "kuche lampe" and speakable("Straße 2") == "strasse two"
    assert speakable("Café/Lamp") == "cafe lamp"
    with pytest.raises(Unspeakable, match="letters with no English spelling"):
        speakable("客厅灯")


def test_a_non_ascii_name_is_kept_when_the_dictionary_can_say_it_and_skipped_with_why_when_not(tmp_path):
    """The real PocketSphinx dictionary: 'cafe' and 'lampe' are in it, 'kuche' is not; a spoken name it
    cannot say would stop the assistant's grammar at start, so it is skipped with the word named."""
    from assistant.adapters.pocketsphinx import unknown_words

    devices = [bridge_device("Café Lampe"), bridge_device("Küche Lampe"), bridge_device("客厅灯")]
    registry, text, notes = registry_from_bridge(devices, [], "zigbee2mqtt", "test", unknown_words)
    assert registry.devices["Café Lampe"].say == ("cafe lampe",)
    why = skipped(notes)
    assert set(why) == {"Küche Lampe", "客厅灯"}
    assert why["Küche Lampe"].startswith("its spoken name 'kuche lampe' has words PocketSphinx's English "
                                         "dictionary does not know (kuche); rename it")
    assert why["客厅灯"].startswith("its name has letters with no English spelling (客 厅 灯)")
    (tmp_path / "devices.yaml").write_text(text, encoding="utf-8")
    assert "Café Lampe" in load_registry(tmp_path).devices  # the friendly name, accents and all, is the topic


# --------------------------------------------------------------------------- groups and scenes

def bridge_group(name: str, *members: str, scenes: tuple = ()) -> dict:
    return {"friendly_name": name, "id": abs(hash(name)) % 60000 + 1, "scenes": list(scenes),
            "members": [{"ieee_address": bridge_device(m)["ieee_address"], "endpoint": 1} for m in members]}


def test_a_skipped_group_says_which_reason_it_was():
    """It said "no known members, or its name clashes" for all of these."""
    devices = [bridge_device("lamp"), bridge_device("bulb"), bridge_device("Radiator", "NOT-IKEA")]
    groups = [bridge_group("All Lights"), bridge_group("Heating", "Radiator"), bridge_group("lamp", "lamp"),
              bridge_group("Lamps", "lamp"), bridge_group("lamps", "bulb"),
              bridge_group("Lights", "lamp", "bulb", scenes=({"id": 1, "name": "Movie"}, {"id": 2, "name": "Movie"}))]
    data, notes = registry_data(devices, groups, "zigbee2mqtt")
    assert set(data["groups"]) == {"Lamps", "Lights"} and list(data["scenes"]) == ["Movie"]
    why = skipped(notes)
    assert why["group All Lights"] == "it has no members in Zigbee2MQTT"
    assert why["group Heating"] == "none of its members (Radiator) is a device kept here"
    assert why["group lamp"].startswith("a device has the same friendly name")
    assert why["group lamps"].startswith("its spoken name 'lamps' is already taken by 'Lamps'")
    assert why["scene 'Movie' of Lights"] == "another scene is already called 'Movie'"
