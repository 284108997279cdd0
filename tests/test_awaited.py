"""Which answer settles which command (assistant/awaited.py), with times handed in: no broker, no waiting."""

from __future__ import annotations

import json

from assistant.awaited import BRIDGE_OFFLINE, Awaited
from assistant.messages import DeviceOutcome, Outcome
from assistant.mqtt_codec import parse_bridge_error

FAILED = parse_bridge_error(json.dumps(
    {"level": "error", "message": "Publish 'set' 'state' to 'desk_lamp' failed: 'Error: timeout'"}))


def no_echo(device, seen):
    return DeviceOutcome(device, Outcome.UNREACHABLE, {}, "no state echo")


def turn(awaited, changes, known, sent_at_ms):
    awaited.begin()
    awaited.expect([("desk_lamp", "desk_lamp")], changes, sent_at_ms, known)


def test_a_late_report_that_shows_the_change_leaves_no_error_owed():
    """Turn 1's echo came after its wait: the command worked. An error in turn 2 is turn 2's own."""
    awaited = Awaited()
    turn(awaited, {"state": "ON"}, {"desk_lamp": {"state": "OFF"}}, 0)
    assert [o.outcome for o in awaited.finish(2000, no_echo)] == [Outcome.UNREACHABLE]
    awaited.report("desk_lamp", {"state": "ON"}, 3000)
    turn(awaited, {"state": "OFF"}, {"desk_lamp": {"state": "ON"}}, 5000)
    awaited.refuse(FAILED, {}, 11000)
    [outcome] = awaited.finish(12000, no_echo)
    assert outcome.outcome is Outcome.REFUSED and "failed" in outcome.detail


def test_a_command_sent_while_the_bridge_was_offline_is_owed_nothing():
    awaited = Awaited()
    turn(awaited, {"state": "ON"}, {"desk_lamp": {"state": "OFF"}}, 0)
    awaited.unreachable(lambda device: True, BRIDGE_OFFLINE, {}, None)
    assert [o.detail for o in awaited.finish(100, no_echo)] == [BRIDGE_OFFLINE]
    turn(awaited, {"state": "ON"}, {"desk_lamp": {"state": "OFF"}}, 10000)
    awaited.refuse(FAILED, {}, 16000)
    assert [o.outcome for o in awaited.finish(17000, no_echo)] == [Outcome.REFUSED]


def test_a_command_with_no_answer_at_all_still_takes_its_late_error():
    """The other side of the two above: the error that arrives during turn 2 is turn 1's."""
    awaited = Awaited()
    turn(awaited, {"state": "ON"}, {"desk_lamp": {"state": "OFF"}}, 0)
    awaited.finish(2000, no_echo)
    turn(awaited, {"brightness": 100}, {"desk_lamp": {"state": "OFF"}}, 5000)
    awaited.refuse(FAILED, {}, 8000)  # 'state' to desk_lamp: turn 1's command
    awaited.report("desk_lamp", {"state": "ON", "brightness": 100}, 8100)
    assert [o.outcome for o in awaited.finish(9000, no_echo)] == [Outcome.DONE]
