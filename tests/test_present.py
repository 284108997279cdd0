"""What the speaker says back: each device named with what it now does, and failures said plainly."""

from __future__ import annotations

import pytest

from assistant.config import DEFAULT_CONFIG_DIR, load_settings
from assistant.devices.planner import plan
from assistant.devices.registry import load_registry
from assistant.intents import match
from assistant.app import load_language
from assistant.messages import DeviceOutcome, EndReason, Interaction, NotUnderstood, Outcome, Transcript, Utterance
from assistant.devices.units import spoken_value
from assistant.present import spoken_reply

pytest.importorskip("hassil")


@pytest.fixture(scope="module")
def home():
    return load_language(load_settings()), load_registry(DEFAULT_CONFIG_DIR)


def reply(home, text, states=None, failing=(), answers=None):
    """Plan `text` with the real matcher and planner; every device confirms except those in `failing`;
    questions get `answers` {device: (state, detail)} in the dispatcher's words."""
    language, registry = home
    intents = match(language, text)
    assert not isinstance(intents, NotUnderstood), intents
    the_plan = plan(intents, registry, states or {})
    outcomes = tuple(DeviceOutcome(d, Outcome.TIMEOUT if d in failing else Outcome.DONE) for d, _ in the_plan.echoes)
    answered = tuple(DeviceOutcome(q.device, Outcome.ANSWERED, *answers[q.device]) for q in the_plan.queries)
    turn = Interaction(None, None, Transcript(text, 1.0, "test"), tuple(intents), None, the_plan.commands, (),
                       outcomes + the_plan.refused + answered)
    return spoken_reply(registry, turn)


@pytest.mark.parametrize("text,expected", [
    ("turn on the kitchen light", "Kitchen light on."),
    ("turn off the kitchen light and close the blinds", "Kitchen light off, blinds closing."),
    ("set the desk lamp to fifty percent", "Desk lamp at 50 percent."),
    ("make the bedroom light blue", "Bedroom light blue."),
    ("set the kitchen light to warm white", "Kitchen light at 2700 kelvin."),
    ("set the blinds to thirty percent", "Blinds moving to 30 percent open."),
    ("set the air purifier to speed three", "Air purifier on speed 3."),
    ("set the air purifier to auto", "Air purifier on auto."),
    ("activate movie time", "Movie night scene on."),
    ("turn off the downstairs lights", "Downstairs lights off."),
    ("turn on the air purifier", "Air purifier on."),
    ("turn off the air purifier", "Air purifier off."),
])
def test_the_reply_names_each_device_and_what_it_now_does(home, text, expected):
    assert reply(home, text) == expected


def test_a_relative_change_says_where_it_ended_or_which_way_it_went(home):
    assert reply(home, "make the desk lamp brighter", {"desk_lamp": {"state": "ON", "brightness": 127}}) == \
        "Desk lamp at 75 percent."  # 50 % and a 25 % step
    assert reply(home, "make the desk lamp brighter") == "Desk lamp brighter."
    assert reply(home, "make the desk lamp warmer") == "Desk lamp warmer."


def test_failures_are_said_and_only_what_happened_is_confirmed(home):
    assert reply(home, "turn off the kitchen light and close the blinds", failing={"living_room_blinds"}) == \
        "Kitchen light off, sorry, blinds did not respond."
    # one member of a group did not confirm: the group is not said to be off
    assert reply(home, "turn off the downstairs lights", failing={"living_room_lamp"}) == \
        "Sorry, living room lamp did not respond."


def test_nothing_heard_and_not_understood(home):
    _, registry = home
    silence = Utterance(b"", 0, 4000, EndReason.NO_SPEECH)
    assert spoken_reply(registry, Interaction(None, silence, None)) == "I didn't hear a command."
    heard = Interaction(None, None, Transcript("sing a song", 0.1, "test"), (), NotUnderstood("sing a song", "no"))
    assert spoken_reply(registry, heard) == "Sorry, I didn't understand."


ON = {"state": "ON", "brightness": 127, "color_temp": 370}


@pytest.mark.parametrize("text,answers,expected", [
    ("is the desk lamp on", {"desk_lamp": (ON, "yes")}, "Yes, desk lamp is on."),
    ("is the desk lamp off", {"desk_lamp": (ON, "no")}, "No, desk lamp is on."),
    ("what is the brightness of the desk lamp", {"desk_lamp": (ON, spoken_value("brightness", 127))},
     "Desk lamp is at 50%."),
    ("what is the color temperature of the desk lamp", {"desk_lamp": (ON, spoken_value("color_temp", 370))},
     "Desk lamp is at 2700 kelvin."),  # not "370.": commands take kelvin, and so do answers
    ("what is the position of the blinds", {"living_room_blinds": ({"position": 30}, spoken_value("position", 30))},
     "Blinds are 30% open."),
    ("turn off the kitchen light and is the desk lamp on", {"desk_lamp": (ON, "yes")},
     "Kitchen light off, yes, desk lamp is on."),
])
def test_answers_are_whole_sentences_that_name_the_device(home, text, answers, expected):
    assert reply(home, text, answers=answers) == expected


def test_several_answers_each_name_their_device(home):
    off = {"state": "OFF"}
    answers = {"kitchen_light": (ON, "yes"), "desk_lamp": (off, "no"), "living_room_lamp": (ON, "yes"),
               "bedroom_light": (off, "no")}
    assert reply(home, "are all the lights on", answers=answers) == \
        "Kitchen light is on, desk lamp is off, living room lamp is on, bedroom light is off."


def test_a_refusal_says_why_instead_of_blaming_the_device(home):
    """'Sorry, kitchen light did not respond' for a white bulb asked to turn red was false."""
    assert reply(home, "make the kitchen light red") == "Sorry, kitchen light cannot show colours."


def test_a_bridge_error_and_a_dead_broker_are_told_apart_from_silence(home):
    _, registry = home
    outcomes = (DeviceOutcome("desk_lamp", Outcome.REFUSED, {}, "Publish 'set' 'state' to 'desk_lamp' failed"),
                DeviceOutcome("kitchen_light", Outcome.FAILED, {}, "broker unavailable at 127.0.0.1:1883"),
                DeviceOutcome("living_room_blinds", Outcome.TIMEOUT, {}, "no state echo within 2000 ms"))
    turn = Interaction(None, None, Transcript("x", 1.0, "test"), outcomes=outcomes)
    assert spoken_reply(registry, turn) == \
        "Sorry, desk lamp refused it, I could not reach kitchen light, blinds did not respond."
