"""The dispatcher's decisions with no broker and no clock: a DispatchSession driven by scripted replies.

Every time is a number handed in, so the figures are exact (an echo 40 ms after its command is 40.0 ms).
The same session runs against the simulated bridge on a real Mosquitto in test_dispatch_mqtt.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import dispatch_session
from assistant.config import MqttSettings
from assistant.devices.registry import load_registry
from assistant.dispatch_session import DispatchSession
from assistant.dispatch_steps import AwaitBroker, Drain, Listen, Publish, Reply
from assistant.messages import Intent, MqttMessage, Outcome
from assistant.mqtt_codec import CONNECTED_TOPIC, Topics

REGISTRY = load_registry(Path(__file__).resolve().parent.parent / "config")
TOPICS = Topics(REGISTRY.base_topic)
SETTINGS = MqttSettings(echo_timeout_ms=1000, offline_queue_ms=5000)
MARKER = "assistant/sync/test"
TURN_ON = [Intent("HassTurnOn", {"name": "kitchen_light"})]


def state(name: str, retain: bool = False, **values) -> MqttMessage:
    return MqttMessage(TOPICS.state(name), json.dumps(values), retain=retain)


class Broker:
    """Answers a session's steps as a broker and a bridge would, on a clock that only moves when a reply says
    so. `echo_after_ms`: a /set is echoed as the device's new state that long after it was published (None:
    never); `connected`: whether the broker is there; `refuse`: publishes it does not take."""

    def __init__(self, now_ms: float = 0.0, echo_after_ms: float | None = 40.0, connected: bool = True,
                 refuse: str | None = None, comes_back_at_ms: float | None = None):
        self.now_ms, self.echo_after_ms, self.connected, self.refuse = now_ms, echo_after_ms, connected, refuse
        self.comes_back_at_ms = comes_back_at_ms
        self.arriving: list[tuple[float, MqttMessage]] = []  # (when, message), delivered in time order
        self.published: list[MqttMessage] = []
        self.steps: list[str] = []

    def send_later(self, after_ms: float, message: MqttMessage) -> None:
        self.arriving.append((self.now_ms + after_ms, message))
        self.arriving.sort(key=lambda a: a[0])

    def answer(self, step) -> Reply:
        self.steps.append(type(step).__name__)
        match step:
            case Publish(message):
                if self.refuse is not None:
                    return Reply(self.now_ms, self.connected, error=self.refuse)
                self.published.append(message)
                if message.topic == MARKER:
                    self.send_later(1, message)
                elif message.topic.endswith("/set") and self.echo_after_ms is not None:
                    name = message.topic.split("/")[-2]
                    self.send_later(self.echo_after_ms, MqttMessage(TOPICS.state(name), message.payload))
                return Reply(self.now_ms, self.connected)
            case Listen(until_ms):
                if self.arriving and self.arriving[0][0] <= until_ms:
                    when, message = self.arriving.pop(0)
                    self.now_ms = max(self.now_ms, when)
                    return Reply(self.now_ms, self.connected, message=message)
                self.now_ms = max(self.now_ms, until_ms)
                return Reply(self.now_ms, self.connected)
            case Drain():
                due = tuple(m for when, m in self.arriving if when <= self.now_ms)
                self.arriving = [(w, m) for w, m in self.arriving if w > self.now_ms]
                return Reply(self.now_ms, self.connected, messages=due)
            case AwaitBroker(until_ms):
                if self.comes_back_at_ms is not None and self.comes_back_at_ms <= until_ms:
                    self.now_ms, self.connected = self.comes_back_at_ms, True
                else:
                    self.now_ms = until_ms
                return Reply(self.now_ms, self.connected)
        raise AssertionError(f"unexpected step {step!r}")


def run(steps, broker: Broker):
    """Carry out every step of a session's turn with the scripted broker; returns the turn's result."""
    try:
        step = next(steps)
        while True:
            step = steps.send(broker.answer(step))
    except StopIteration as done:
        return done.value


def synced_session(broker: Broker, **known) -> DispatchSession:
    session = DispatchSession(REGISTRY, SETTINGS, MARKER)
    for name, values in known.items():
        session.receive(state(name, retain=True, **values), broker.now_ms)
    run(session.sync(), broker)
    assert broker.published == [MqttMessage(MARKER, "{}")]
    broker.published.clear()
    return session


def test_a_command_is_published_once_and_its_echo_answers_it_with_the_exact_time():
    broker = Broker(now_ms=1000.0)
    session = synced_session(broker, kitchen_light={"state": "OFF"})
    result = run(session.dispatch(TURN_ON, broker.now_ms, connected=True), broker)
    assert [(m.topic, json.loads(m.payload)) for m in broker.published] == [
        (TOPICS.set("kitchen_light"), {"state": "ON"})]
    [outcome] = result.outcomes
    assert (outcome.device, outcome.outcome, outcome.echo_ms) == ("kitchen_light", Outcome.DONE, 40.0)
    assert session.device_states()["kitchen_light"] == {"state": "ON"}


def test_no_echo_is_unreachable_exactly_when_the_wait_runs_out():
    broker = Broker(echo_after_ms=None)
    session = synced_session(broker, kitchen_light={"state": "OFF"})
    start = broker.now_ms
    [outcome] = run(session.dispatch(TURN_ON, start, connected=True), broker).outcomes
    assert outcome.outcome is Outcome.UNREACHABLE and outcome.detail == "no state echo within 1000 ms"
    assert broker.now_ms == start + 1000


def test_a_bridge_error_refuses_the_command_it_names():
    broker = Broker(echo_after_ms=None)
    session = synced_session(broker, kitchen_light={"state": "OFF"})
    error = {"level": "error", "message": "Publish 'set' 'state' to 'kitchen_light' failed: 'Error: timeout'"}
    broker.send_later(300, MqttMessage(TOPICS.bridge("logging"), json.dumps(error)))
    [outcome] = run(session.dispatch(TURN_ON, broker.now_ms, connected=True), broker).outcomes
    assert outcome.outcome is Outcome.REFUSED and "failed" in outcome.detail and outcome.echo_ms == 300.0


def test_a_broker_that_stays_away_fails_every_device_and_publishes_nothing():
    broker = Broker(connected=False)
    session = synced_session(Broker(), kitchen_light={"state": "OFF"})
    result = run(session.dispatch(TURN_ON, 0.0, connected=False), broker)
    assert broker.steps == ["Drain", "AwaitBroker"] and broker.published == []
    [outcome] = result.outcomes
    assert outcome.outcome is Outcome.FAILED
    assert outcome.detail == "broker unavailable at 127.0.0.1:1883 for 5000 ms; nothing was sent"
    assert outcome.state == {"state": "OFF"}


def test_a_publish_the_broker_does_not_take_fails_that_command_and_the_rest():
    broker = Broker(refuse="not acknowledged")
    session = synced_session(Broker(), kitchen_light={"state": "OFF"}, desk_lamp={"state": "OFF"})
    result = run(session.dispatch(TURN_ON + [Intent("HassTurnOn", {"name": "desk_lamp"})], 0.0, connected=True),
                 broker)
    assert result.messages == ()
    assert [(o.device, o.outcome, o.detail) for o in result.outcomes] == [
        ("kitchen_light", Outcome.FAILED, "broker unavailable: not acknowledged"),
        ("desk_lamp", Outcome.FAILED, "broker unavailable: not acknowledged")]


def test_after_a_reconnection_the_session_catches_up_before_it_sends():
    broker = Broker()
    session = synced_session(broker, kitchen_light={"state": "OFF", "brightness": 10})
    broker.send_later(0, MqttMessage(CONNECTED_TOPIC, ""))
    # what the broker kept meanwhile, arriving while the session reads the retained burst
    broker.send_later(0.5, state("kitchen_light", retain=True, state="ON", brightness=200))
    result = run(session.dispatch([Intent("HassLightSet", {"name": "kitchen_light", "brightness_step": 25})],
                                  broker.now_ms, connected=True), broker)
    # the retained burst is read up to our own marker first; 25 % brighter then starts from 200, not 10
    assert [m.topic for m in broker.published] == [MARKER, TOPICS.set("kitchen_light")]
    assert json.loads(result.messages[0].payload) == {"brightness": 254}


def test_one_plan_per_turn_unless_catching_up_changed_the_states(monkeypatch):
    made = []

    def counting_plan(*args):
        made.append(args[0])
        return real_plan(*args)

    real_plan = dispatch_session.plan
    monkeypatch.setattr(dispatch_session, "plan", counting_plan)
    broker = Broker()
    session = synced_session(broker, kitchen_light={"state": "OFF"})
    run(session.dispatch(TURN_ON, broker.now_ms, connected=True), broker)
    assert len(made) == 1
    broker.send_later(0, MqttMessage(CONNECTED_TOPIC, ""))
    broker.send_later(0.5, state("kitchen_light", retain=True, state="OFF"))  # read while catching up
    run(session.dispatch(TURN_ON, broker.now_ms, connected=True), broker)
    assert len(made) == 3  # the second turn's first plan rested on a state the catching up replaced


@pytest.mark.parametrize("payload, known", [('{"state": "ON"}', {"state": "ON"}), ("not json", {"state": "OFF"}),
                                            ('{"state": "ON", "brightness": "bright"}', {"state": "ON"})])
def test_what_a_device_reports_is_kept_only_as_values_the_planner_can_trust(payload, known):
    session = DispatchSession(REGISTRY, SETTINGS, MARKER, {"kitchen_light": {"state": "OFF"}})
    session.receive(MqttMessage(TOPICS.state("kitchen_light"), payload), 0.0)
    assert session.device_states()["kitchen_light"] == known


def test_a_dry_run_touches_nothing_and_says_where_it_would_go():
    session = DispatchSession(REGISTRY, SETTINGS, MARKER)
    result = session.dry_run([Intent("HassTurnOff", {"group": "downstairs_lights"})])
    assert [m.topic for m in result.messages] == [TOPICS.set("downstairs_lights")]
    assert {(o.device, o.outcome, o.detail) for o in result.outcomes} == {
        ("kitchen_light", Outcome.DRY_RUN, "via downstairs_lights"),
        ("living_room_lamp", Outcome.DRY_RUN, "via downstairs_lights")}
