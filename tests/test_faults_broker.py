"""Broker faults on a real Mosquitto that the tests kill (SIGKILL to its PID) and start again on the same port.

Every command dispatched while the broker is away is either delivered after it comes back (within
mqtt.offline_queue_ms) or reported FAILED per device; nothing is dropped silently or delivered late.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from pathlib import Path

import pytest

from assistant.adapters.mqtt import MqttClient
from assistant.app import TimedDispatcher, PublishClock, connect
from assistant.dispatcher import Dispatcher
from assistant.errors import BrokerError
from assistant.messages import Intent, MqttMessage, Outcome
from assistant.sim.runner import Simulator

from conftest import RestartableBroker, mqtt_settings

FAST = dict(reconnect_min_ms=100, reconnect_max_ms=400, echo_timeout_ms=1000)


def wait_for(predicate, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def restart_later(broker, delay_s):
    thread = threading.Thread(target=lambda: (time.sleep(delay_s), broker.start()), daemon=True)
    thread.start()
    return thread


@pytest.fixture
def house(restartable_broker, registry):
    """Broker + simulator + the assistant's own client (app.connect) and dispatcher, all reconnecting fast."""
    broker = restartable_broker.start()
    settings = mqtt_settings(broker, base_topic=registry.base_topic, offline_queue_ms=6000, **FAST)
    simulator = Simulator(registry, settings).start_thread()
    client = connect(settings)
    dispatcher = Dispatcher(registry, settings, client)
    yield broker, settings, simulator, client, dispatcher
    client.close()
    simulator.stop(clean=broker.running)


def turn_on(dispatcher, name="kitchen_light"):
    return dispatcher.dispatch([Intent("HassTurnOn", {"name": name})])


def test_assistant_client_starts_without_a_broker_and_connects_when_it_appears(restartable_broker, caplog):
    settings = mqtt_settings(restartable_broker, **FAST)
    caplog.set_level(logging.INFO)  # every logger, paho's included
    client = connect(settings)  # nothing listens on that port yet
    try:
        assert not client.connected
        client.subscribe("faults/echo")  # remembered while offline, made on connection
        time.sleep(1.0)  # several reconnect attempts (100 ms doubling to 400 ms)
        loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(loud) == 1 and "unavailable" in loud[0] and "\n" not in loud[0]
        restartable_broker.start()
        assert client.wait_connected(5)
        client.publish(MqttMessage("faults/echo", "hi"))
        got = [client.get(2) for _ in range(2)]
        assert [m.topic for m in got if m] == ["$client/reconnected", "faults/echo"]
        loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(loud) == 2 and "is back after" in loud[1]
    finally:
        client.close()


def test_strict_clients_still_fail_fast(restartable_broker):
    with pytest.raises(BrokerError, match="cannot reach MQTT broker"):
        MqttClient(mqtt_settings(restartable_broker))


def test_command_during_outage_is_delivered_after_reconnect_and_simulator_republishes(house):
    broker, settings, simulator, client, dispatcher = house
    assert turn_on(dispatcher, "desk_lamp").outcomes[0].outcome == Outcome.DONE
    broker.kill()
    assert wait_for(lambda: not client.connected)
    restart_later(broker, 0.8)
    started = time.monotonic()
    result = turn_on(dispatcher)
    waited = time.monotonic() - started
    [outcome] = result.outcomes
    assert outcome.outcome == Outcome.DONE, outcome
    assert 0.8 <= waited < settings.offline_queue_ms / 1000
    assert [m.topic.split("/", 1)[1] for m in result.messages] == ["kitchen_light/set"]
    assert simulator.bridge.states["kitchen_light"]["state"] == "ON"
    assert simulator.republished >= 1
    # The restarted broker had forgotten everything; the simulator put it back (retained).
    with MqttClient(settings) as viewer:
        base = settings.base_topic
        viewer.subscribe(f"{base}/bridge/state", f"{base}/desk_lamp", f"{base}/desk_lamp/availability")
        seen = {m.topic: json.loads(m.payload) for m in (viewer.get(2) for _ in range(3)) if m}
    assert seen[f"{base}/bridge/state"] == {"state": "online"}
    assert seen[f"{base}/desk_lamp/availability"] == {"state": "online"}
    assert seen[f"{base}/desk_lamp"]["state"] == "ON"


def test_command_during_long_outage_fails_per_device_and_is_never_sent_late(house):
    broker, settings, simulator, client, dispatcher = house
    dispatcher.session.offline_queue_ms = 300
    broker.kill()
    assert wait_for(lambda: not client.connected)
    started = time.monotonic()
    result = dispatcher.dispatch([Intent("HassTurnOn", {"group": "downstairs_lights"}),
                                  Intent("HassTurnOn", {"name": "coffee_maker"})])
    waited = time.monotonic() - started
    assert 0.3 <= waited < 1.0
    assert result.messages == ()  # nothing was handed to the broker
    assert {o.device for o in result.outcomes} == {"kitchen_light", "living_room_lamp", "coffee_maker"}
    for o in result.outcomes:
        assert o.outcome == Outcome.FAILED and o.detail.startswith("broker unavailable at 127.0.0.1:")
    broker.start()
    assert wait_for(lambda: simulator.republished >= 1)
    time.sleep(0.5)
    assert simulator.bridge.states["coffee_maker"]["state"] == "OFF"  # not delivered late
    assert simulator.bridge.states["kitchen_light"]["state"] == "OFF"
    assert turn_on(dispatcher, "coffee_maker").outcomes[0].outcome == Outcome.DONE  # and it works again


def test_unacknowledged_message_is_withdrawn_not_resent_after_reconnect(restartable_broker):
    broker = restartable_broker.start()
    settings = mqtt_settings(broker, **FAST)
    client = MqttClient(settings, required=False)
    try:
        broker.kill()
        assert wait_for(lambda: not client.connected)
        with pytest.raises(BrokerError, match="broker unavailable"):
            client.publish(MqttMessage("faults/late", "must not arrive"))
        broker.start()
        with MqttClient(settings) as watcher:
            watcher.subscribe("faults/late")
            assert client.wait_connected(5)
            assert watcher.get(0.8) is None
    finally:
        client.close()


def test_the_voice_loop_dispatcher_keeps_working_across_repeated_outages(house):
    """The pipeline's view (app.TimedDispatcher): every turn returns an outcome, none raises."""
    broker, settings, simulator, client, dispatcher = house
    dispatcher.session.offline_queue_ms = 200
    timed = TimedDispatcher(dispatcher, PublishClock(client))
    seen = []
    for round_ in range(3):
        broker.kill()
        assert wait_for(lambda: not client.connected)
        down = timed((Intent("HassTurnOff", {"name": "kitchen_light"}),))
        seen.append(down.outcomes[0].outcome)
        broker.start()
        assert client.wait_connected(5)
        up = timed((Intent("HassTurnOn" if round_ % 2 else "HassTurnOff", {"name": "kitchen_light"}),))
        seen.append(up.outcomes[0].outcome)
    assert seen == [Outcome.FAILED, Outcome.DONE] * 3
    assert simulator.republished == 3


def test_simulator_waits_for_a_late_broker_then_announces(restartable_broker, registry):
    """Started before Mosquitto (as a service may be): it waits, then restores and announces as usual."""
    settings = mqtt_settings(restartable_broker, base_topic=registry.base_topic, **FAST)
    started: list[Simulator] = []
    thread = threading.Thread(target=lambda: started.append(Simulator(registry, settings).start(wait_for_broker_s=10)))
    thread.start()
    time.sleep(0.8)
    assert not started  # still waiting, nothing announced to nobody
    restartable_broker.start()
    thread.join(15)
    [simulator] = started
    try:
        watcher = MqttClient(settings, client_id="late-broker-watcher")
        watcher.subscribe(f"{registry.base_topic}/bridge/state")
        message = watcher.get(5)
        assert message is not None and json.loads(message.payload)["state"] == "online"
        watcher.close()
    finally:
        simulator.stop()


def test_simulator_gives_up_waiting_with_one_line(restartable_broker, registry, caplog):
    settings = mqtt_settings(restartable_broker, base_topic=registry.base_topic, **FAST)
    with caplog.at_level(logging.WARNING), pytest.raises(BrokerError) as err:
        Simulator(registry, settings).start(wait_for_broker_s=0.5)
    message = str(err.value)
    assert "did not come up within 0.5 s" in message and "\n" not in message
    # while it waited it said so, not that it would carry on without the broker
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("waiting up to 0.5 s" in w for w in warnings), warnings
    assert not any("carrying on" in w for w in warnings), warnings


def test_a_late_broker_that_refuses_us_is_named_as_a_refusal(mosquitto_binary, tmp_path, registry):
    broker = RestartableBroker(mosquitto_binary, tmp_path, ["allow_anonymous false"])
    settings = mqtt_settings(broker, base_topic=registry.base_topic, **FAST)
    errors: list[BrokerError] = []

    def start() -> None:
        try:
            Simulator(registry, settings).start(wait_for_broker_s=10)
        except BrokerError as exc:
            errors.append(exc)

    thread = threading.Thread(target=start)
    thread.start()
    time.sleep(0.5)
    broker.start()
    try:
        thread.join(8)
        assert not thread.is_alive()  # told at once, not after the whole wait
        [err] = errors
        assert "refused the connection" in str(err) and "--password" in str(err)
    finally:
        broker.kill()


def test_ctrl_c_while_waiting_for_the_broker_leaves_nothing_behind(restartable_broker, registry, monkeypatch):
    settings = mqtt_settings(restartable_broker, base_topic=registry.base_topic, **FAST)
    killed = []
    monkeypatch.setattr(MqttClient, "wait_connected", lambda self, timeout_s: (_ for _ in ()).throw(KeyboardInterrupt))
    real_kill = MqttClient.kill
    monkeypatch.setattr(MqttClient, "kill", lambda self: (killed.append(self), real_kill(self)))
    simulator = Simulator(registry, settings)
    with pytest.raises(KeyboardInterrupt):
        simulator.start(wait_for_broker_s=10)
    assert len(killed) == 1
    simulator.stop(clean=True)  # what the command does next: nothing to announce, no error


def test_full_assistant_starts_without_broker_and_recovers(restartable_broker):
    """app.build with the real models while the broker is down: the loop runs, the turn fails clearly,
    and after the broker (and the bridge) come up the same assistant object completes the command."""
    from pathlib import Path

    from assistant.app import build
    from assistant.audio import WavSource
    from assistant.config import load_settings

    wav = Path(__file__).parent / "fixtures" / "turns" / "turn_on_the_kitchen_light__joe.wav"
    settings = load_settings()  # a fresh broker per test: the default base topic cannot collide
    mqtt = mqtt_settings(restartable_broker, offline_queue_ms=300, **FAST)
    assistant = build(settings, mqtt)
    try:
        [turn] = assistant.pipeline(lambda e: None).run(iter(WavSource(wav)))
        assert [(o.device, o.outcome) for o in turn.outcomes] == [("kitchen_light", Outcome.FAILED)]
        restartable_broker.start()
        simulator = Simulator(assistant.registry, mqtt).start_thread()
        try:
            assert assistant.clock.wait_connected(5)
            [turn] = assistant.pipeline(lambda e: None).run(iter(WavSource(wav)))
            assert [(o.device, o.outcome) for o in turn.outcomes] == [("kitchen_light", Outcome.DONE)]
            assert simulator.bridge.states["kitchen_light"]["state"] == "ON"
        finally:
            simulator.stop()
    finally:
        assistant.close()


@pytest.mark.models
def test_voice_loop_keeps_running_while_the_broker_is_killed_and_restarted(house):
    """Real audio path (openWakeWord, silero VAD, listener, pipeline) on a recorded command; only the
    recognizer and matcher are stand-ins. Three turns: broker up, broker killed, broker back."""
    from pathlib import Path

    from assistant.adapters.openwakeword import OpenWakeWordScorer, resolve_wake_words
    from assistant.adapters.silero_vad import SileroVad
    from assistant.audio import WavSource
    from assistant.config import load_settings
    from assistant.listener import Listener
    from assistant.messages import Transcript
    from assistant.pipeline import Pipeline
    from assistant.wake import WakePolicy

    broker, settings, simulator, client, dispatcher = house
    dispatcher.session.offline_queue_ms = 300
    wav = Path(__file__).parent / "fixtures" / "turns" / "turn_on_the_kitchen_light__joe.wav"
    app_settings = load_settings()
    if not (app_settings.models_dir / "silero_vad.onnx").exists():
        pytest.skip("models not fetched (assistant models fetch)")
    scorer = OpenWakeWordScorer(resolve_wake_words(["hey_jarvis"], app_settings.models_dir), app_settings.models_dir)
    vad = SileroVad(app_settings.models_dir)
    said = iter(["turn on the kitchen light", "turn off the kitchen light", "turn off the kitchen light"])

    class ScriptedRecognizer:  # the speech engine is not what this test is about
        name = "scripted"

        def transcribe(self, pcm):
            return Transcript(next(said), 1.0, "scripted")

        def suppresses(self, pcm):
            return False

    def understand(text):
        return (Intent("HassTurnOn" if " on " in f" {text} " else "HassTurnOff", {"name": "kitchen_light"}),)

    def one_turn():
        policy = WakePolicy(app_settings.wake)
        policy.reset(-scorer.reset())
        events = []
        pipeline = Pipeline(app_settings, scorer, policy, Listener(app_settings.listener, vad), ScriptedRecognizer(),
                            understand, TimedDispatcher(dispatcher, PublishClock(client)), events.append)
        [turn] = pipeline.run(iter(WavSource(wav)))
        return turn, events

    turn, _ = one_turn()
    assert [o.outcome for o in turn.outcomes] == [Outcome.DONE]
    broker.kill()
    assert wait_for(lambda: not client.connected)
    turn, events = one_turn()
    assert [(o.outcome, o.detail.split(" at ")[0]) for o in turn.outcomes] == [(Outcome.FAILED, "broker unavailable")]
    assert events[-1]["event"] == "result" and events[-1]["status"] == "failed"
    assert not [e for e in events if e["event"] == "mqtt"]  # nothing claimed as published
    assert simulator.bridge.states["kitchen_light"]["state"] == "ON"
    broker.start()
    assert client.wait_connected(5)
    turn, _ = one_turn()
    assert [o.outcome for o in turn.outcomes] == [Outcome.DONE]
    assert simulator.bridge.states["kitchen_light"]["state"] == "OFF"


def test_run_exits_1_when_a_change_did_not_happen(mosquitto, tmp_path, capsys):
    """`assistant run` against a broker with no bridge behind it: the turn is reported per device, and
    scripts see it in the exit status. (A broker missing when `run` starts is exit 2:
    tests/test_first_use.py.)"""
    import shutil

    from assistant.cli import main
    from assistant.config import DEFAULT_CONFIG_DIR

    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    text = (config / "assistant.yaml").read_text()
    (config / "assistant.yaml").write_text(re.sub(r"echo_timeout_ms: \d+", "echo_timeout_ms: 200", text))
    (config / "devices.yaml").write_text((config / "devices.yaml").read_text().replace(
        "zigbee2mqtt", f"z2m_nobody_{uuid.uuid4().hex[:8]}"))  # a base topic no bridge answers on
    wav = Path(__file__).parent / "fixtures" / "turns" / "turn_on_the_kitchen_light__joe.wav"
    assert main(["run", "--config", str(config), "--broker", f"{mosquitto.host}:{mosquitto.port}", str(wav)]) == 1
    out, err = capsys.readouterr()
    assert "kitchen light: unreachable (no state echo" in out and "did not happen" in err
    assert main(["run", "--config", str(config), "--dry-run", str(wav)]) == 0


def test_a_subscription_made_while_the_client_connects_is_not_lost(mosquitto_binary, tmp_path):
    """subscribe() from the main thread while paho's thread is inside on_connect (held there on purpose):
    the new topic must still be subscribed, not only remembered for the next reconnection."""
    from assistant.adapters import mosquitto
    from assistant.config import MqttSettings

    port = mosquitto.free_port()
    settings = MqttSettings(port=port, reconnect_min_ms=100, reconnect_max_ms=200)
    client = MqttClient(settings, required=False)  # no broker yet
    client.subscribe("race/a")
    inside = threading.Event()
    paho_subscribe = client._client.subscribe

    def held(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread():  # on_connect, in paho's thread
            inside.set()
            time.sleep(0.5)
        return paho_subscribe(*args, **kwargs)

    client._client.subscribe = held
    proc, _ = mosquitto.start(mosquitto_binary, ["allow_anonymous true"], tmp_path, port)
    try:
        assert inside.wait(10)
        client.subscribe("race/b")
        with MqttClient(settings) as publisher:
            publisher.publish(MqttMessage("race/b", "B", 1))
            deadline = time.monotonic() + 3
            got = []
            while "race/b" not in got and time.monotonic() < deadline:
                message = client.get(0.1)
                if message is not None:
                    got.append(message.topic)
        assert "race/b" in got
    finally:
        client.close()
        mosquitto.stop(proc)
