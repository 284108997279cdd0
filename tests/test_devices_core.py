"""Pure parts, no broker: units, registry validation, the simulated device core (with hypothesis), the planner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from assistant.devices.catalog import CATALOG
from assistant.devices.planner import plan
from assistant.devices.registry import load_registry
from assistant.devices.units import hex_to_xy, kelvin_to_mired, percent_to_brightness
from assistant.errors import BrokerError, ConfigError, DeviceError
from assistant.messages import Intent
from assistant.sim.bridge import Bridge
from assistant.sim.devices import apply_set, default_state, restore_state, state_problems
from assistant.messages import MqttMessage

CONFIG = Path(__file__).resolve().parent.parent / "config"


@pytest.fixture(scope="module")
def registry():
    return load_registry(CONFIG)


def test_units():
    assert percent_to_brightness(50) == 127
    assert percent_to_brightness(100) == 254
    assert percent_to_brightness(0) == 0
    assert percent_to_brightness(0.1) == 1  # a non-zero request never rounds to off
    assert kelvin_to_mired(2700) == 370
    assert hex_to_xy("#FFFFFF") == (0.3127, 0.329)
    with pytest.raises(ValueError):
        hex_to_xy("#12345")


# --------------------------------------------------------------------------- registry validation

BASE = """
devices:
  lamp: {model: LED1545G12, area: kitchen, say: [lamp]}
  bulb: {model: LED1924G9, say: [bulb]}
"""


@pytest.mark.parametrize("extra, message", [
    ("  bad: {model: NOPE}\n", "unknown model 'NOPE'"),
    ("  lamp: {model: LED1545G12}\n", "duplicate key 'lamp'"),
    ("groups:\n  upstairs: {id: 1, members: [lamp]}\n  downstairs: {id: 1, members: [bulb]}\n", "group id 1 is already used"),
    ("groups:\n  upstairs: {id: 1, members: [lamp]}\nscenes:\n  cosy: {id: 1, group: upstairs, states: {lamp: {brightness: 999}}}\n",
     "999 is out of range 0-254"),
    ("groups:\n  upstairs: {id: 1, members: [lamp]}\nscenes:\n  cosy: {id: 300, group: upstairs}\n", "out of range 0-255"),
])
def test_registry_errors_name_file_line_and_key(tmp_path, extra, message):
    (tmp_path / "devices.yaml").write_text(BASE + extra)
    with pytest.raises(ConfigError) as err:
        load_registry(tmp_path)
    assert message in str(err.value)
    assert str(tmp_path / "devices.yaml") + ":" in str(err.value)  # file:line


# --------------------------------------------------------------------------- device core

def test_light_follows_zigbee2mqtt_payloads():
    spec = CATALOG["LED1924G9"]
    s = default_state(spec)
    s = apply_set("b", spec, s, '{"state": "ON", "brightness": 255}').state  # 255 is read as 254
    assert (s["state"], s["brightness"]) == ("ON", 254)
    s = apply_set("b", spec, s, '{"brightness_step": -300}')  # out of range: refused
    assert not s.ok
    s = apply_set("b", spec, default_state(spec) | {"state": "ON"}, '{"brightness_step": -254}').state
    assert s["brightness"] == 1 and s["state"] == "ON"  # plain step never switches off
    s = apply_set("b", spec, s, '{"color": {"hex": "#0000FF"}}').state
    assert s["color"] == {"x": 0.15, "y": 0.06} and s["color_mode"] == "xy"
    s = apply_set("b", spec, s, '{"color_temp_step": 500}').state
    assert s["color_temp"] == 454 and s["color_mode"] == "color_temp"
    assert apply_set("b", spec, s, "TOGGLE").state["state"] == "OFF"


def test_a_refused_value_names_the_catalog_range():
    lamp, blind = CATALOG["LED1545G12"], CATALOG["E1757"]
    brightness, position = lamp.attributes["brightness"], blind.attributes["position"]
    error = apply_set("lamp", lamp, default_state(lamp), '{"brightness": 999}').error
    assert error.endswith(f"'brightness 999 is out of range {brightness.minimum}-{brightness.maximum}'")  # 0-254
    assert apply_set("lamp", lamp, default_state(lamp), '{"brightness": 255}').state["brightness"] == 254
    error = apply_set("blinds", blind, default_state(blind), '{"position": 140}').error
    assert error.endswith(f"'position 140 is out of range {position.minimum}-{position.maximum}'")


def test_an_off_bulb_ignores_colour_unless_the_payload_switches_it_on():
    spec = CATALOG["LED1924G9"]
    off = default_state(spec)  # OFF, color_temp 370
    assert apply_set("b", spec, off, '{"color_temp": 300}').state == off  # accepted, and nothing happens
    assert apply_set("b", spec, off, '{"color_temp_step": -50}').state == off
    assert apply_set("b", spec, off, '{"color": {"hex": "#0000FF"}}').state == off
    s = apply_set("b", spec, off, '{"state": "ON", "color_temp": 300}').state
    assert (s["state"], s["color_temp"]) == ("ON", 300)
    s = apply_set("b", spec, s, '{"state": "OFF", "color_temp": 400}').state  # still on when the colour is sent
    assert (s["state"], s["color_temp"]) == ("OFF", 400)


def test_a_blind_travels_at_fyrtur_speed_and_reports_its_position_on_the_way(registry):
    from assistant.sim.travel import FULL_TRAVEL_S

    from conftest import ManualClock

    assert 32.9 < FULL_TRAVEL_S < 33.1  # 13 turns + 265 degrees at 25 rpm
    clock = ManualClock()
    bridge = Bridge(registry, clock=clock)
    topic = "zigbee2mqtt/living_room_blinds"

    def after(seconds, payload=None):
        clock.now_s += seconds
        out = bridge.handle(MqttMessage(f"{topic}/set", payload)) if payload else bridge.tick()
        return [(r["state"], r["position"]) for r in (json.loads(m.payload) for m in out if m.topic == topic)]

    assert after(0, '{"state": "CLOSE"}') == [("OPEN", 100)]  # answered at once, from where it is
    assert after(0.2) == []  # 0.6 %: not a whole percent yet
    assert after(0.2) == [("OPEN", 99)]  # 1.2 %
    assert after(0.5) == []  # 2.7 %: at most one report a second
    assert after(0.5) == [("OPEN", 96)]  # 4.2 %
    assert after(40) == [("CLOSE", 0)] and after(5) == [] and not bridge.travels  # arrived, and said so
    assert after(0, '{"position": 50}') == [("CLOSE", 0)]
    assert after(2) == [("OPEN", 6)]
    assert after(0.5, '{"state": "STOP"}') == [("OPEN", 7)]  # stops where it has got to
    assert after(10) == [] and bridge.states["living_room_blinds"]["position"] == 7
    assert after(0, '{"state": "OPEN"}') == [("OPEN", 7)] and after(100) == [("OPEN", 100)]


def test_cover_commands_are_validated_and_the_purifier_follows_its_mode():
    blind = CATALOG["E1757"]
    assert apply_set("blinds", blind, default_state(blind), '{"position": 140}').error
    assert apply_set("blinds", blind, default_state(blind), '{"state": "DOWN"}').error
    fan = CATALOG["E2007"]
    s = apply_set("fan", fan, default_state(fan), '{"fan_state": "ON"}').state
    assert (s["fan_mode"], s["fan_state"]) == ("auto", "ON")
    assert apply_set("fan", fan, s, '{"fan_mode": "11"}').error
    assert apply_set("fan", fan, s, '{"pm25": 3}').error == "Publish 'set' 'pm25' to 'fan' failed: ''pm25' is read-only'"


@pytest.mark.parametrize("payload", ["not json", "[1, 2]", '"ON!"', '{"state": 1}', '{"brightness": "50"}',
                                     '{"brightness": 300}', '{"colour": "red"}', '{}', '{"brightness": NaN}',
                                     '{"color": {"x": 2, "y": 0.3}}', "x" * 5000, '{"state": "ON", "bogus": 1}'])
def test_invalid_payload_refused_state_unchanged(payload):
    spec = CATALOG["LED1924G9"]
    before = default_state(spec)
    applied = apply_set("bulb", spec, before, payload)
    assert applied.error and "'bulb'" in applied.error
    assert applied.state == before


def test_restore_keeps_only_valid_values():
    spec = CATALOG["LED1545G12"]
    state = restore_state(spec, {"state": "ON", "brightness": 999, "color_temp": 300, "junk": 1})
    assert state == {"state": "ON", "brightness": 254, "color_temp": 300}


_KEYS = ["state", "brightness", "brightness_step", "brightness_step_onoff", "color_temp", "color_temp_step",
         "color", "transition", "position", "fan_mode", "fan_state", "pm25", "scene_recall", "junk"]
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.floats(allow_nan=True) | st.text(max_size=8)
    | st.sampled_from(["ON", "OFF", "TOGGLE", "OPEN", "CLOSE", "STOP", "auto", "3", "#FF00AA"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["x", "y", "hex"]), children,
                                                                    max_size=3),
    max_leaves=6)
_PAYLOADS = st.one_of(
    st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=4).map(lambda d: json.dumps(d, allow_nan=True)),
    st.text(max_size=40),
    st.binary(max_size=40).map(lambda b: b.decode("utf-8", "replace")),
)


@settings(max_examples=400, deadline=None)
@given(model=st.sampled_from(sorted(CATALOG)), payloads=st.lists(_PAYLOADS, min_size=1, max_size=5))
def test_random_payloads_never_crash_and_state_stays_valid(model, payloads):
    spec = CATALOG[model]
    state = default_state(spec)
    for payload in payloads:
        applied = apply_set("dev", spec, state, payload)
        if not applied.ok:
            assert applied.state == state
        state = dict(applied.state)
        assert state_problems(spec, state) == []


@settings(max_examples=200, deadline=None)
@given(topic=st.sampled_from(["kitchen_light/set", "downstairs_lights/set", "air_purifier/set", "desk_lamp/get",
                              "bridge/request/simulate/unreachable", "nobody/set"]), payload=_PAYLOADS)
def test_bridge_never_raises(registry, topic, payload):
    bridge = Bridge(registry)
    out = bridge.handle(MqttMessage(f"zigbee2mqtt/{topic}", payload))
    assert isinstance(out, list)
    for name, device in registry.devices.items():
        assert state_problems(device.spec, bridge.states[name]) == []


# --------------------------------------------------------------------------- planner

def test_relative_changes_use_state_and_clamp(registry):
    states = {"desk_lamp": {"state": "ON", "brightness": 240, "color_temp": 260}}
    p = plan([Intent("HassLightSet", {"name": "desk_lamp", "brightness_step": 25})], registry, states)
    assert dict(p.commands[0].changes) == {"brightness": 254}
    p = plan([Intent("HassLightSet", {"name": "desk_lamp", "color_temp_step_kelvin": 500})], registry, states)
    assert dict(p.commands[0].changes) == {"color_temp": 250}  # 4346 K would be 230 mired: clamped
    p = plan([Intent("HassLightSet", {"name": "desk_lamp", "brightness_step": -25})], registry, {})
    assert dict(p.commands[0].changes) == {"brightness_step": -64}  # state unknown: the device does the sum
    p = plan([Intent("HassLightSet", {"name": "desk_lamp", "brightness_step": 25})], registry, {})
    assert dict(p.commands[0].changes) == {"brightness_step_onoff": 64}  # and brighter switches an off lamp on
    # warmer/cooler too: a bulb that is off ignores colour, so unless the lamp is known to be on, it comes on
    warmer = [Intent("HassLightSet", {"name": "desk_lamp", "color_temp_step_kelvin": -500})]
    assert dict(plan(warmer, registry, {}).commands[0].changes) == {"state": "ON", "color_temp_step": 75}
    off = {"desk_lamp": {"state": "OFF", "color_temp": 370}}
    assert dict(plan(warmer, registry, off).commands[0].changes) == {"state": "ON", "color_temp": 454}
    on = {"desk_lamp": {"state": "ON", "color_temp": 370}}
    assert dict(plan(warmer, registry, on).commands[0].changes) == {"color_temp": 454}
    for slots in ({"color_temp_kelvin": 2700}, {"color": "white"}):  # absolute colours always did
        [command] = plan([Intent("HassLightSet", {"name": "desk_lamp", **slots})], registry, off).commands
        assert command.changes["state"] == "ON"
    lamp = registry.devices["desk_lamp"].spec
    assert apply_set("desk_lamp", lamp, default_state(lamp), '{"brightness_step_onoff": 64}').state["state"] == "ON"


def test_targets_expand_and_unknown_names_are_errors(registry):
    p = plan([Intent("HassTurnOff", {})], registry, {})
    assert "living_room_blinds" not in {c.device for c in p.commands}  # "everything" never moves the blinds
    p = plan([Intent("HassLightSet", {"area": "living room", "color": "red"})], registry, {})
    assert [c.device for c in p.commands] == ["living_room_lamp"]
    p = plan([Intent("HassLightSet", {"name": "coffee_maker", "brightness": 50})], registry, {})
    assert not p.commands and p.refused[0].device == "coffee_maker"
    with pytest.raises(DeviceError, match="unknown device 'garage_door'"):
        plan([Intent("HassTurnOn", {"name": "garage_door"})], registry, {})
    with pytest.raises(DeviceError, match="unknown area"):
        plan([Intent("HassTurnOn", {"area": "moon"})], registry, {})


@pytest.mark.parametrize("changes, before, after, confirmed", [
    ({"state": "ON"}, {"state": "OFF"}, {"state": "ON"}, True),
    ({"state": "ON"}, {"state": "OFF"}, {"state": "OFF", "linkquality": 80}, False),  # a routine report
    ({"state": "ON", "brightness": 128}, {}, {"state": "ON", "brightness": 127}, True),  # bulbs round
    ({"state": "ON", "brightness": 128}, {}, {"state": "ON", "brightness": 254}, False),  # a late echo
    ({"color_temp": 370}, {}, {"color_temp": 300}, False),
    ({"brightness_step": 64}, {"brightness": 10}, {"brightness": 10}, True),  # a step has no value to check
    ({"scene_recall": 1}, {}, {"state": "ON"}, True),
    ({"fan_mode": "auto"}, {"fan_mode": "off"}, {"fan_mode": "auto", "fan_state": "ON"}, True),
    ({"fan_mode": "3"}, {"fan_mode": "off"}, {"fan_mode": "off"}, False),
    # blinds take seconds: moving towards the target answers, standing still does not
    ({"state": "CLOSE"}, {"position": 100}, {"position": 60, "state": "OPEN"}, True),
    ({"state": "CLOSE"}, {"position": 100}, {"position": 100, "battery": 80}, False),
    ({"position": 40}, {"position": 0}, {"position": 41}, True),
    ({"position": 40}, {"position": 0}, {"position": 0}, False),
    ({"state": "STOP"}, {"position": 50}, {"position": 50}, True),
])
def test_which_reports_confirm_a_change(changes, before, after, confirmed):
    from assistant.devices.reported import confirms

    assert confirms(changes, before, after) is confirmed


# --------------------------------------------------------------------------- the simulator while the broker is away

class _FlakyBroker:
    """The simulator's MQTT client, scripted: messages to hand out, and a broker that is up or down."""

    def __init__(self):
        self.up, self.inbox, self.sent, self.refused = True, [], [], 0

    def get(self, timeout_s):
        return self.inbox.pop(0) if self.inbox else None

    def publish(self, message):
        if not self.up:
            self.refused += 1
            raise BrokerError(f"broker unavailable at 127.0.0.1:1883: not connected, {message.topic} not sent")
        self.sent.append(message)


def test_the_simulator_says_once_that_the_broker_is_gone_and_once_that_it_is_back(registry, caplog):
    """A travelling blind reports every second; each report used to log its own warning (16 in a short
    outage)."""
    import logging

    from assistant.config import MqttSettings
    from assistant.mqtt_codec import CONNECTED_TOPIC
    from assistant.sim.runner import Simulator

    from conftest import ManualClock

    clock = ManualClock()
    simulator = Simulator(registry, MqttSettings(), clock=clock)
    simulator._client = broker = _FlakyBroker()
    caplog.set_level(logging.WARNING, logger="assistant.sim.runner")
    for outage in range(2):
        simulator.bridge.handle(MqttMessage("zigbee2mqtt/living_room_blinds/set", '{"position": %d}' % (outage * 100)))
        broker.up = False
        for _ in range(16):
            clock.now_s += 1
            simulator.step()  # nothing came in: the blind's report falls due and cannot be sent
        broker.up, broker.inbox = True, [MqttMessage(CONNECTED_TOPIC, "")]
        simulator.step()
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 4, said
    assert said[0].startswith("simulator: broker unavailable at 127.0.0.1:1883") and "until the broker is back" in said[0]
    assert said[1] == "simulator: broker at 127.0.0.1:1883 is back; announcing the bridge, availability and state again"
    assert said[2].startswith("simulator: broker unavailable") and said[3] == said[1]
    assert broker.refused >= 20  # many reports were lost, and said once per outage
    assert simulator.republished == 2 and any(m.topic == "zigbee2mqtt/living_room_blinds" for m in broker.sent)
