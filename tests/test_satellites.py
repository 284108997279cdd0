"""Satellites to a hub over real TCP (the `wyoming` library on both sides): the real wake word model, VAD
and listener on each satellite replaying real WAVs in real time, the hub's real recognizer and matcher, and
the devices switched through a real Mosquitto and the simulated bridge."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("wyoming")

from assistant.app import build_recognizer, load_language  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.hub import Hub  # noqa: E402
from satellites import ServedHub, replay, start_satellite  # noqa: E402

TURNS = Path(__file__).resolve().parent / "fixtures" / "turns"


@pytest.fixture(scope="module")
def parts():
    settings = load_settings()
    language = load_language(settings)
    return settings, language, build_recognizer(settings, language, "grammar")


def hub_for(parts, home, **kw) -> Hub:
    settings, language, recognizer = parts
    return Hub(home.registry, recognizer, language, home.dispatcher, "en", **kw)


def wait_for(check, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_a_satellite_command_switches_the_light_through_the_hub(parts, home):
    served = ServedHub(hub_for(parts, home)).start()
    sat = start_satellite(served.port, "kitchen", "kitchen")
    try:
        assert sat.link.connected.wait(5)
        replay(sat, [TURNS / "turn_on_the_kitchen_light__joe.wav"]).join(30)
    finally:
        sat.link.close()
        served.close()
    assert len(sat.wakes) == 1 and sat.wakes[0].snr_db is not None and sat.wakes[0].snr_db > 20
    assert [r.kind for r in sat.reports] == ["handled"], sat.reports
    assert "kitchen light" in sat.reports[0].text.lower()
    assert home.simulator.bridge.states["kitchen_light"]["state"] == "ON"


def test_a_hub_restart_loses_no_satellite_and_no_command(parts, home):
    """The hub goes away: the satellite says so once, a command said meanwhile is reported failed, and once
    the hub is back on the same port the satellite reconnects by itself and its next command is acted on."""
    served = ServedHub(hub_for(parts, home)).start()
    sat = start_satellite(served.port, "kitchen", "kitchen")
    try:
        assert sat.link.connected.wait(5)
        served.stop()
        assert wait_for(lambda: not sat.link.connected.is_set())
        replay(sat, [TURNS / "turn_on_the_kitchen_light__joe.wav"]).join(30)
        assert [r.kind for r in sat.reports] == ["failed"] and "not sent" in sat.reports[0].text
        assert home.simulator.bridge.states["kitchen_light"].get("state") != "ON"
        served.start()
        assert wait_for(lambda: sat.link.connected.is_set() and sat.link.connections == 2)
        replay(sat, [TURNS / "turn_on_the_kitchen_light__joe.wav"]).join(30)
    finally:
        sat.link.close()
        served.close()
    assert [r.kind for r in sat.reports] == ["failed", "handled"], sat.reports
    assert home.simulator.bridge.states["kitchen_light"]["state"] == "ON"
    lost = [line for line in sat.said if "lost the hub" in line or "cannot reach" in line]
    assert len(lost) == 1, sat.said  # said once, however many reconnection attempts it took
    assert any("is back" in line for line in sat.said)


def test_a_command_the_hub_dies_with_is_reported_failed(parts, home):
    import threading

    release = threading.Event()

    class StuckHub(Hub):
        def satellite_turn(self, *args, **kwargs):
            release.wait(10)  # the hub is killed while it works on the command
            return super().satellite_turn(*args, **kwargs)

    settings, language, recognizer = parts
    served = ServedHub(StuckHub(home.registry, recognizer, language, home.dispatcher, "en")).start()
    sat = start_satellite(served.port, "kitchen", "kitchen")
    try:
        assert sat.link.connected.wait(5)
        thread = replay(sat, [TURNS / "turn_on_the_kitchen_light__joe.wav"])
        assert wait_for(lambda: sat.loop.commands == 1, 15)
        served.stop()
        thread.join(30)
    finally:
        release.set()
        sat.link.close()
        served.close()
    assert [r.kind for r in sat.reports] == ["failed"], sat.reports
    assert "went away before answering" in sat.reports[0].text


ROOMS = Path(__file__).resolve().parent / "fixtures" / "rooms"


def test_the_lights_in_here_are_the_lights_of_the_satellite_that_heard_it(parts, home):
    """One hub, two satellites in two rooms, the same words: each switches its own room's lights."""
    served = ServedHub(hub_for(parts, home)).start()
    kitchen = start_satellite(served.port, "kitchen-sat", "kitchen")
    bedroom = start_satellite(served.port, "bedroom-sat", "bedroom")
    states = home.simulator.bridge.states
    try:
        assert kitchen.link.connected.wait(5) and bedroom.link.connected.wait(5)
        replay(kitchen, [ROOMS / "turn_on_the_lights_in_here__joe.wav"]).join(30)
        assert states["kitchen_light"]["state"] == "ON"
        assert states["bedroom_light"].get("state") != "ON"
        replay(bedroom, [ROOMS / "turn_on_the_lights_in_here__joe.wav"]).join(30)
    finally:
        kitchen.link.close()
        bedroom.link.close()
        served.close()
    assert [r.kind for r in kitchen.reports] == ["handled"] and [r.kind for r in bedroom.reports] == ["handled"]
    assert states["bedroom_light"]["state"] == "ON"
    assert states["desk_lamp"].get("state") != "ON" and states["living_room_lamp"].get("state") != "ON"
