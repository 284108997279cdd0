"""Continuations after a turn (intents/follow.py), text only: what each adds to the previous turn, and what
is no continuation at all."""

import pytest

from assistant.app import load_language
from assistant.config import load_settings
from assistant.intents import match
from assistant.intents.follow import continue_turn
from assistant.messages import NotUnderstood


@pytest.fixture(scope="module")
def language():
    return load_language(load_settings())


def follow(language, first, then, area="kitchen"):
    previous = match(language, first, area)
    assert isinstance(previous, tuple), previous
    found = continue_turn(language, previous, then, area)
    return found if isinstance(found, NotUnderstood) else [(i.name, dict(i.slots)) for i in found]


@pytest.mark.parametrize("first,then,expected", [
    ("turn off the lights", "and the bedroom too", [("HassTurnOff", {"area": "bedroom", "domain": "light"})]),
    ("turn off the lights", "in the bedroom tube", [("HassTurnOff", {"area": "bedroom", "domain": "light"})]),
    ("turn off the kitchen light", "the office as well", [("HassTurnOff", {"area": "office", "domain": "light"})]),
    ("turn on the kitchen light", "and the desk lamp", [("HassTurnOn", {"name": "desk_lamp"})]),
    ("set the bedroom light to red", "and the living room lamp too",
     [("HassLightSet", {"color": "red", "name": "living_room_lamp"})]),
    ("dim the desk lamp", "a bit more", [("HassLightSet", {"name": "desk_lamp", "brightness_step": -25})]),
    ("dim the desk lamp", "a little less", [("HassLightSet", {"name": "desk_lamp", "brightness_step": 25})]),
    ("make the desk lamp brighter", "again", [("HassLightSet", {"name": "desk_lamp", "brightness_step": 25})]),
    ("turn on the kitchen light", "never mind", [("HassNevermind", {})]),
])
def test_a_continuation_repeats_the_last_turn_as_asked(language, first, then, expected):
    assert follow(language, first, then) == expected


@pytest.mark.parametrize("first,then", [
    ("turn on the kitchen light", "could you pass me the salt please"),
    ("turn on the kitchen light", "turn off the desk lamp"),  # a whole command: the wake word is needed
    ("turn on the kitchen light", "a bit more"),  # no step to repeat
    ("close the blinds", "and the bedroom too"),  # the bedroom has no blinds: no guess at its lights
    ("activate movie night", "and the office too"),  # a scene has no other target
    ("turn on the kitchen light", "the bathroom too"),  # no such room here
])
def test_anything_else_is_no_continuation(language, first, then):
    assert isinstance(follow(language, first, then), NotUnderstood)


@pytest.fixture(scope="module")
def two_lamps():
    """A home where "the lamp" can mean two devices: the desk lamp and the reading lamp in one office."""
    from assistant.intents.language import load_language as language_for
    from assistant.messages import HomeNames, NamedDevice

    devices = {"desk_lamp": NamedDevice("desk_lamp", ("desk lamp",), "light", "office"),
               "reading_lamp": NamedDevice("reading_lamp", ("reading lamp",), "light", "office"),
               "kettle": NamedDevice("kettle", ("kettle",), "outlet", "kitchen")}
    return language_for(load_settings(), HomeNames(devices, {}, {}))


def test_the_other_one_undoes_the_last_change_and_makes_it_to_the_other_device(two_lamps):
    from assistant.intents.follow import continue_turn
    from assistant.messages import Intent

    for then in ("no, the other one", "the other one", "not that one, the other one"):
        found = continue_turn(two_lamps, (Intent("HassTurnOn", {"name": "desk_lamp"}, "turn on the lamp"),), then)
        assert [(i.name, dict(i.slots)) for i in found] == [
            ("HassTurnOff", {"name": "desk_lamp"}), ("HassTurnOn", {"name": "reading_lamp"})], then
    stepped = continue_turn(two_lamps, (Intent("HassLightSet", {"name": "desk_lamp", "brightness_step": 25},
                                               "brighten the lamp"),), "no the other one")
    assert [(i.name, dict(i.slots)) for i in stepped] == [
        ("HassLightSet", {"name": "desk_lamp", "brightness_step": -25}),
        ("HassLightSet", {"name": "reading_lamp", "brightness_step": 25})]


def test_the_other_one_asks_back_when_it_is_not_certain(two_lamps, language):
    from assistant.intents.follow import continue_turn
    from assistant.messages import Intent

    cases = [
        (two_lamps, Intent("HassTurnOn", {"name": "kettle"}, "turn on the kettle")),  # no other kettle
        (two_lamps, Intent("HassLightSet", {"name": "desk_lamp", "color": "red"}, "make the lamp red")),  # no undo
        (language, Intent("HassTurnOn", {"name": "desk_lamp"}, "turn on the lamp")),  # three other lamps here
    ]
    for home, last in cases:
        found = continue_turn(home, (last,), "no, the other one")
        assert isinstance(found, NotUnderstood) and found.asks_back, found
