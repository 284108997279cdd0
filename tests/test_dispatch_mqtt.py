"""The dispatcher against the simulated bridge on a real Mosquitto: every intent kind, exact payload, real state."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest

from assistant.adapters.mqtt import MqttClient
from assistant.dispatcher import Dispatcher
from assistant.errors import BrokerError, DeviceError
from assistant.messages import Intent, MqttMessage, Outcome

from conftest import ManualClock, mqtt_settings


def run(home, intent, **slots):
    return home.dispatcher.dispatch([Intent(intent, slots)])


def sent(result):
    base = len(result.messages[0].topic.split("/")[0]) + 1 if result.messages else 0
    return [(m.topic[base:], json.loads(m.payload)) for m in result.messages]


def test_every_message_is_qos1_not_retained_and_echoed(home):
    result = run(home, "HassTurnOn", name="kitchen_light")
    assert sent(result) == [("kitchen_light/set", {"state": "ON"})]
    assert all(m.qos == 1 and not m.retain for m in result.messages)
    [outcome] = result.outcomes
    assert outcome.outcome == Outcome.DONE and outcome.state["state"] == "ON"
    assert 0 <= outcome.echo_ms < 1000
    assert home.dispatcher.device_states()["kitchen_light"]["state"] == "ON"
    assert home.simulator.bridge.states["kitchen_light"]["state"] == "ON"


# (intent, slots, expected (topic, payload) list, device, expected state subset after)
CASES = [
    ("HassTurnOff", {"name": "kitchen_light"}, [("kitchen_light/set", {"state": "OFF"})], "kitchen_light",
     {"state": "OFF"}),
    ("HassLightSet", {"name": "kitchen_light", "brightness": 50},
     [("kitchen_light/set", {"state": "ON", "brightness": 127})], "kitchen_light", {"state": "ON", "brightness": 127}),
    ("HassLightSet", {"name": "kitchen_light", "color_temp_kelvin": 2700},
     [("kitchen_light/set", {"state": "ON", "color_temp": 370})], "kitchen_light", {"color_temp": 370}),
    ("HassLightSet", {"name": "kitchen_light", "color_temp_kelvin": 9000},  # clamped to 250 mired
     [("kitchen_light/set", {"state": "ON", "color_temp": 250})], "kitchen_light", {"color_temp": 250}),
    ("HassLightSet", {"name": "bedroom_light", "color": "red"},
     [("bedroom_light/set", {"state": "ON", "color": {"x": 0.6401, "y": 0.33}})], "bedroom_light",
     {"color_mode": "xy", "color": {"x": 0.6401, "y": 0.33}}),
    # a blind confirms once it moves; a FYRTUR takes 33 s to close, so it is still open (see the travel test)
    ("HassTurnOff", {"name": "living_room_blinds"}, [("living_room_blinds/set", {"state": "CLOSE"})],
     "living_room_blinds", {"state": "OPEN"}),
    ("HassSetPosition", {"name": "living_room_blinds", "position": 40},
     [("living_room_blinds/set", {"position": 40})], "living_room_blinds", {"state": "OPEN"}),
    ("HassStopMoving", {"name": "living_room_blinds"}, [("living_room_blinds/set", {"state": "STOP"})],
     "living_room_blinds", {"position": 100}),
    ("HassTurnOn", {"name": "coffee_maker"}, [("coffee_maker/set", {"state": "ON"})], "coffee_maker", {"state": "ON"}),
    ("SetFanMode", {"name": "air_purifier", "fan_mode": "auto"}, [("air_purifier/set", {"fan_mode": "auto"})],
     "air_purifier", {"fan_mode": "auto", "fan_state": "ON"}),
    ("SetFanMode", {"name": "air_purifier", "fan_mode": "3"}, [("air_purifier/set", {"fan_mode": "3"})],
     "air_purifier", {"fan_mode": "3"}),
    ("HassTurnOn", {"group": "downstairs_lights"}, [("downstairs_lights/set", {"state": "ON"})], "living_room_lamp",
     {"state": "ON"}),
    ("HassTurnOn", {"scene": "movie_night"}, [("downstairs_lights/set", {"scene_recall": 1})], "living_room_lamp",
     {"state": "ON", "brightness": 60, "color_temp": 454}),
]


@pytest.mark.parametrize("intent, slots, expected, device, after", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_intent_payload_topic_and_resulting_state(home, intent, slots, expected, device, after):
    result = run(home, intent, **slots)
    assert sent(result) == expected
    assert {o.outcome for o in result.outcomes} == {Outcome.DONE}
    state = home.simulator.bridge.states[device]
    assert {k: state[k] for k in after} == after


def test_relative_brightness_and_colour_temperature_from_retained_state(home):
    run(home, "HassLightSet", name="desk_lamp", brightness=100)
    result = run(home, "HassLightSet", name="desk_lamp", brightness_step=-25)
    assert sent(result) == [("desk_lamp/set", {"brightness": 190})]
    result = run(home, "HassLightSet", name="desk_lamp", brightness_step=25)
    assert sent(result) == [("desk_lamp/set", {"brightness": 254})]  # 254 + 64 clamped
    result = run(home, "HassLightSet", name="desk_lamp", color_temp_step_kelvin=500)  # 370 mired = 2703 K
    assert sent(result) == [("desk_lamp/set", {"color_temp": 312})]
    assert home.simulator.bridge.states["desk_lamp"]["color_temp"] == 312


def test_warmer_on_a_lamp_that_is_off_switches_it_on(home):
    """A TRÅDFRI bulb ignores colour while it is off: 'warmer' alone would say nothing happened (or, against
    Zigbee2MQTT's optimistic echo, 'done' with the lamp still dark). The planner switches it on as well."""
    from assistant.devices.planner import Plan
    from assistant.messages import DeviceCommand

    command = DeviceCommand("desk_lamp", {"color_temp": 300})  # what 'warmer' used to send
    plan = Plan((command,), (("desk_lamp", "desk_lamp"),))
    [ignored] = home.dispatcher.carry_out(plan).outcomes
    assert ignored.outcome == Outcome.TIMEOUT and ignored.state["color_temp"] == 370
    result = run(home, "HassLightSet", name="desk_lamp", color_temp_step_kelvin=-500)  # 370 mired = 2703 K
    assert sent(result) == [("desk_lamp/set", {"state": "ON", "color_temp": 454})]
    assert result.outcomes[0].outcome == Outcome.DONE
    assert {k: home.simulator.bridge.states["desk_lamp"][k] for k in ("state", "color_temp")} == {
        "state": "ON", "color_temp": 454}


def test_area_domain_and_everything(home):
    run(home, "HassTurnOn", name="coffee_maker")
    result = run(home, "HassTurnOff", area="kitchen", domain="light")
    assert sent(result) == [("kitchen_light/set", {"state": "OFF"})]
    assert home.simulator.bridge.states["coffee_maker"]["state"] == "ON"
    result = run(home, "HassTurnOff")
    assert {t for t, _ in sent(result)} == {f"{d}/set" for d in home.registry.devices if d != "living_room_blinds"}
    assert all(o.outcome == Outcome.DONE for o in result.outcomes)


def test_compound_turn_and_state_questions(home):
    result = home.dispatcher.dispatch([Intent("HassTurnOn", {"name": "kitchen_light"}),
                                       Intent("HassLightSet", {"name": "bedroom_light", "brightness": 50})])
    assert len(result.messages) == 2 and [o.outcome for o in result.outcomes] == [Outcome.DONE, Outcome.DONE]
    [answer] = run(home, "HassGetState", name="kitchen_light", attribute="state", expected="ON").outcomes
    assert (answer.outcome, answer.detail) == (Outcome.ANSWERED, "yes")
    [answer] = run(home, "HassGetState", name="bedroom_light", attribute="brightness").outcomes
    assert (answer.outcome, answer.detail, answer.state["brightness"]) == (Outcome.ANSWERED, "50%", 127)
    nothing = run(home, "HassNevermind")
    assert nothing.commands == () and nothing.messages == () and nothing.outcomes == ()


def test_group_fan_out_reaches_every_member(home):
    result = run(home, "HassLightSet", group="downstairs_lights", brightness=20)
    assert sent(result) == [("downstairs_lights/set", {"state": "ON", "brightness": 51})]
    assert sorted(o.device for o in result.outcomes) == ["kitchen_light", "living_room_lamp"]
    for member in ("kitchen_light", "living_room_lamp"):
        assert home.simulator.bridge.states[member]["brightness"] == 51


def test_unreachable_device_is_reported_and_others_still_work(home):
    home.client.publish(MqttMessage(f"{home.registry.base_topic}/bridge/request/simulate/unreachable",
                                    '{"id": "desk_lamp", "value": true}'))
    deadline = time.monotonic() + 2
    while home.dispatcher.availability()["desk_lamp"] is not False and time.monotonic() < deadline:
        time.sleep(0.01)
    result = home.dispatcher.dispatch([Intent("HassTurnOn", {"name": "desk_lamp"}),
                                       Intent("HassTurnOn", {"name": "kitchen_light"})])
    outcomes = {o.device: o for o in result.outcomes}
    assert outcomes["desk_lamp"].outcome == Outcome.UNREACHABLE
    assert outcomes["kitchen_light"].outcome == Outcome.DONE
    assert home.simulator.bridge.states["desk_lamp"]["state"] == "OFF"


def test_no_echo_means_unreachable_within_the_timeout(mosquitto, registry):
    settings = mqtt_settings(mosquitto, echo_timeout_ms=300)  # no simulator running at all
    with MqttClient(settings) as client:
        dispatcher = Dispatcher(registry, settings, client)
        started = time.monotonic()
        [outcome] = dispatcher.dispatch([Intent("HassTurnOn", {"name": "kitchen_light"})]).outcomes
    assert outcome.outcome == Outcome.UNREACHABLE and "no state echo" in outcome.detail
    assert time.monotonic() - started < 1.0


def test_bridge_refusal_is_reported(home):
    # A command the planner would never build, sent straight through the dispatcher's codec path:
    from assistant.devices.planner import Plan
    from assistant.messages import DeviceCommand

    command = DeviceCommand("kitchen_light", {"brightness": 999})
    plan = Plan((command,), (("kitchen_light", "kitchen_light"),))
    [outcome] = home.dispatcher.carry_out(plan).outcomes
    assert outcome.outcome == Outcome.REFUSED and "brightness" in outcome.detail


def test_a_bridge_error_refuses_the_command_it_answers_and_nothing_else(home):
    """Zigbee2MQTT logs one error per failed publish. In a turn with two commands to the same lamp it refuses
    the one it answers; the other still counts, and so does the next turn."""
    from assistant.devices.planner import Plan
    from assistant.messages import DeviceCommand

    bad, good = DeviceCommand("kitchen_light", {"brightness": 999}), DeviceCommand("kitchen_light", {"state": "ON"})
    plan = Plan((bad, good), (("kitchen_light", "kitchen_light"), ("kitchen_light", "kitchen_light")))
    refused, done = home.dispatcher.carry_out(plan).outcomes
    assert refused.outcome == Outcome.REFUSED and "'brightness'" in refused.detail
    assert done.outcome == Outcome.DONE and done.state["state"] == "ON"
    assert run(home, "HassTurnOff", name="kitchen_light").outcomes[0].outcome == Outcome.DONE


@pytest.mark.parametrize("text, target, keys, about", [
    ("Publish 'set' 'state' to 'desk_lamp' failed: 'Error: timeout'", "desk_lamp", {"state", "brightness"}, True),
    ("Publish 'set' 'state' to 'desk_lamp' failed: 'Error: timeout'", "desk_lamp", {"brightness"}, False),
    ("Publish 'set' 'state' to 'desk_lamp' failed: 'Error: timeout'", "kitchen_light", {"state"}, False),
    ("Publish 'set' to 'downstairs_lights' failed: Publish 'set' 'brightness' to 'kitchen_light' failed: 'x'",
     "kitchen_light", {"brightness"}, False),  # the group's command, not the lamp's
    ("Entity 'desk_lamp' is unknown", "desk_lamp", {"state"}, True),
])
def test_which_command_a_bridge_error_is_about(text, target, keys, about):
    from assistant.mqtt_codec import parse_bridge_error

    error = parse_bridge_error(json.dumps({"level": "error", "message": text}))
    assert error is not None and error.about(target, keys) is about
    assert parse_bridge_error(json.dumps({"level": "info", "message": text})) is None


def _answer_sets(bridge, answers):
    """A scripted bridge: the n-th /set it hears is answered with answers[n] (a list of messages)."""
    for batch in answers:
        if bridge.get(5) is None:
            return
        for message in batch:
            bridge.publish(message)


def test_a_late_bridge_error_does_not_refuse_the_next_command(mosquitto, registry):
    """Zigbee2MQTT logs a failed publish only when the radio gives up (6-10 s), after the turn has said 'no
    echo'. Arriving during the next turn to the same lamp, it is about the earlier command: the lamp that
    then switches on is done, not refused."""
    base = registry.base_topic
    settings = mqtt_settings(mosquitto, base_topic=base, echo_timeout_ms=300)
    failed = MqttMessage(f"{base}/bridge/logging", json.dumps({"level": "error", "message": (
        "Publish 'set' 'state' to 'desk_lamp' failed: 'Error: ZCL command 0x000d6ffffea7eb82/1 genOnOff.on({}) "
        "failed (SRSP - AF - dataRequest after 6000ms)'")}))
    echo = MqttMessage(f"{base}/desk_lamp", '{"state": "ON", "brightness": 254}')
    with MqttClient(settings) as client, MqttClient(settings) as bridge:
        bridge.subscribe(f"{base}/desk_lamp/set")
        thread = threading.Thread(target=_answer_sets, args=(bridge, [[], [failed, echo]]))
        thread.start()
        dispatcher = Dispatcher(registry, settings, client)
        [first] = dispatcher.dispatch([Intent("HassTurnOn", {"name": "desk_lamp"})]).outcomes
        [second] = dispatcher.dispatch([Intent("HassTurnOn", {"name": "desk_lamp"})]).outcomes
        thread.join()
    assert first.outcome == Outcome.UNREACHABLE
    assert second.outcome == Outcome.DONE and second.state["state"] == "ON"


def test_only_registry_devices_can_be_addressed(home):
    with pytest.raises(DeviceError):
        run(home, "HassTurnOn", name="front_door_lock")


def test_dry_run_needs_no_broker(registry):
    from assistant.config import MqttSettings

    dispatcher = Dispatcher(registry, MqttSettings(port=1))
    result = dispatcher.dispatch([Intent("HassTurnOn", {"name": "kitchen_light"})])
    assert result.messages == (MqttMessage(f"{registry.base_topic}/kitchen_light/set", '{"state":"ON"}', 1, False),)
    assert result.outcomes[0].outcome == Outcome.DRY_RUN


def test_embedded_broker_with_the_same_client(registry):
    from assistant.adapters.embedded_broker import EmbeddedBroker
    from assistant.config import MqttSettings
    from assistant.sim.runner import Simulator

    with EmbeddedBroker() as broker:
        settings = MqttSettings(host=broker.host, port=broker.port)
        simulator = Simulator(registry, settings).start_thread()
        try:
            with MqttClient(settings) as client:
                result = Dispatcher(registry, settings, client).dispatch([Intent("HassTurnOn", {"name": "desk_lamp"})])
            assert result.outcomes[0].outcome == Outcome.DONE
        finally:
            simulator.stop()


def test_authenticated_broker(mosquitto_auth, registry):
    good = mqtt_settings(mosquitto_auth)
    with MqttClient(good) as client:
        client.subscribe("auth/test")
        client.publish(MqttMessage("auth/test", "hello"))
        assert client.get(2).payload == "hello"
    with pytest.raises(BrokerError, match="refused the connection"):
        MqttClient(dataclasses.replace(good, password="wrong"))
    with pytest.raises(BrokerError, match="refused the connection"):
        MqttClient(dataclasses.replace(good, username=None, password=None))


def test_dead_broker_is_one_clear_line():
    from assistant.config import MqttSettings
    from conftest import free_port

    with pytest.raises(BrokerError) as err:
        MqttClient(MqttSettings(host="127.0.0.1", port=free_port()))
    assert "cannot reach MQTT broker at 127.0.0.1" in str(err.value) and "\n" not in str(err.value)


def test_echo_is_fast_on_a_default_mosquitto(home):
    """Guards against Nagle + delayed ACK stalls (~44 ms per command when TCP_NODELAY/QUICKACK go missing)."""
    import statistics

    times = [run(home, "HassTurnOn" if i % 2 else "HassTurnOff", name="kitchen_light").outcomes[0].echo_ms
             for i in range(30)]
    assert statistics.median(times) < 20


def test_dispatcher_and_simulator_import_without_paho_or_amqtt():
    import subprocess
    import sys

    code = ("import sys\nfor n in ('paho', 'amqtt'): sys.modules[n] = None\n"
            "import assistant.dispatcher, assistant.sim.runner, assistant.commands.devices, assistant.commands.simulate\n"
            "from assistant.adapters.mqtt import MqttClient\nfrom assistant.adapters.embedded_broker import EmbeddedBroker\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_a_report_without_the_change_does_not_confirm_it(mosquitto, registry):
    """No simulator: the light never acts on the command, but a routine report (link quality, the old
    state) arrives while the dispatcher waits. That is not the light saying yes."""
    settings = mqtt_settings(mosquitto, base_topic=registry.base_topic, echo_timeout_ms=600)
    routine = MqttMessage(f"{registry.base_topic}/kitchen_light", '{"state": "OFF", "linkquality": 90}', 1, False)
    with MqttClient(settings) as client, MqttClient(settings) as other:
        dispatcher = Dispatcher(registry, settings, client)
        timer = threading.Timer(0.15, other.publish, (routine,))
        timer.start()
        [outcome] = dispatcher.dispatch([Intent("HassTurnOn", {"name": "kitchen_light"})]).outcomes
        timer.join()
    assert outcome.outcome == Outcome.TIMEOUT and "not the change" in outcome.detail
    assert outcome.state["state"] == "OFF"


def test_a_question_after_a_command_sees_its_effect(home):
    run(home, "HassTurnOff", name="kitchen_light")
    result = home.dispatcher.dispatch([Intent("HassTurnOn", {"name": "kitchen_light"}),
                                       Intent("HassGetState", {"name": "kitchen_light", "attribute": "state",
                                                               "expected": "ON"})])
    done, answer = result.outcomes
    assert done.outcome == Outcome.DONE
    assert (answer.outcome, answer.detail) == (Outcome.ANSWERED, "yes")


def test_an_echo_timeout_over_two_seconds_is_kept(registry):
    from assistant.config import MqttSettings

    assert Dispatcher(registry, MqttSettings(echo_timeout_ms=10000)).session.echo_timeout_ms == 10000


def test_a_report_of_changed_keys_only_is_merged_into_the_known_state(home):
    """Zigbee2MQTT with cache_state: false publishes only the keys that changed. {"color_temp": 300} must not
    make the lamp's brightness unknown ('brighter' would then be a blind step); a full report still
    overwrites every key it carries."""
    run(home, "HassLightSet", name="desk_lamp", brightness=50)  # known: ON, brightness 127, color_temp 370
    topic = f"{home.registry.base_topic}/desk_lamp"
    with MqttClient(home.settings) as bridge:
        bridge.publish(MqttMessage(topic, '{"color_temp": 300, "linkquality": 80}', 1, False))
        run(home, "HassTurnOn", name="coffee_maker")  # its echo comes after the report: the report is absorbed
        assert home.dispatcher.device_states()["desk_lamp"] == {"state": "ON", "brightness": 127, "color_temp": 300,
                                                                "linkquality": 80}
        result = run(home, "HassLightSet", name="desk_lamp", brightness_step=10)
        assert sent(result) == [("desk_lamp/set", {"brightness": 152})]  # 127 + 25, not brightness_step_onoff
        bridge.publish(MqttMessage(topic, '{"state": "OFF", "brightness": 10, "color_temp": 454}', 1, False))
        run(home, "HassTurnOff", name="coffee_maker")
    assert home.dispatcher.device_states()["desk_lamp"] == {"state": "OFF", "brightness": 10, "color_temp": 454,
                                                            "linkquality": 80}


def test_a_travelling_blind_confirms_once_it_moves_towards_its_target(mosquitto, registry):
    """A FYRTUR takes 33 s to close and reports its position on the way. The turn is done when a report
    shows the blind closer to its target than before; the simulator's clock is moved by hand."""
    from assistant.sim.runner import Simulator
    from assistant.sim.travel import FYRTUR_PERCENT_PER_S

    base, clock = registry.base_topic, ManualClock()
    settings = mqtt_settings(mosquitto, base_topic=base, echo_timeout_ms=5000)
    simulator = Simulator(registry, settings, clock=clock).start_thread()
    try:
        with MqttClient(settings) as client, MqttClient(settings) as watcher:
            watcher.subscribe(f"{base}/living_room_blinds")
            assert json.loads(watcher.get(2).payload)["position"] == 100  # retained
            dispatcher = Dispatcher(registry, settings, client)

            def turn(intent, **slots):
                """Dispatch in a thread; once the blind has answered (from where it stands), move the clock
                2 s so that it reports having moved."""
                results = []
                thread = threading.Thread(target=lambda: results.append(run_on(dispatcher, intent, **slots)))
                thread.start()
                answer = json.loads(watcher.get(2).payload)
                clock.now_s += 2
                report = json.loads(watcher.get(2).payload)
                thread.join(5)
                [outcome] = results[0].outcomes
                return answer["position"], report["position"], outcome

            still, moved, outcome = turn("HassTurnOff", name="living_room_blinds")
            assert (still, moved) == (100, 100 - int(2 * FYRTUR_PERCENT_PER_S))
            assert outcome.outcome == Outcome.DONE and outcome.state["position"] == moved
            assert outcome.detail == "moving towards position 0"
            positions = [moved]
            while positions[-1] > 0 and len(positions) < 30:
                clock.now_s += 2
                report = json.loads(watcher.get(2).payload)
                positions.append(report["position"])
            assert positions == sorted(positions, reverse=True) and positions[-1] == 0
            assert report["state"] == "CLOSE"
            still, moved, outcome = turn("HassSetPosition", name="living_room_blinds", position=50)
            assert (still, moved) == (0, 6) and outcome.outcome == Outcome.DONE
    finally:
        simulator.stop()


def run_on(dispatcher, intent, **slots):
    return dispatcher.dispatch([Intent(intent, slots)])


@pytest.mark.parametrize("second", [Intent("HassLightSet", {"group": "downstairs_lights", "brightness": 50}),
                                    Intent("HassTurnOn", {"group": "downstairs_lights"})])
def test_two_commands_to_one_group_in_a_turn_each_wait_for_their_own_reports(home, second):
    """The first command took every member's reports, its own and the second's: both lamps were said not to
    confirm, after the full wait, though both did what was asked."""
    result = home.dispatcher.dispatch([Intent("HassTurnOff", {"group": "downstairs_lights"}), second])
    assert [(o.device, o.outcome) for o in result.outcomes] == \
        [("kitchen_light", Outcome.DONE), ("living_room_lamp", Outcome.DONE)] * 2
    states = home.dispatcher.device_states()
    assert states["kitchen_light"]["state"] == states["living_room_lamp"]["state"] == "ON"
