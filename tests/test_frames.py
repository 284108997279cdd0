"""Commands read by their parts (intents/frames.py): every word accounted for, or nothing is read."""

from __future__ import annotations

import pytest

from assistant.config import load_settings
from assistant.devices.registry import load_registry
from assistant.intents import match
from assistant.app import load_language
from assistant.intents.frames import CONFIDENCE, read
from assistant.messages import NotUnderstood

pytest.importorskip("hassil")


@pytest.fixture(scope="module")
def registry():
    return load_registry("config")


@pytest.fixture(scope="module")
def language():
    return load_language(load_settings())


def _read(registry, text, area=None):
    found = read(registry, text, area)
    return None if found is None else [(i.name, dict(i.slots)) for i in found]


@pytest.mark.parametrize("text, want", [
    ("kill the lights in the office", [("HassTurnOff", {"area": "office", "domain": "light"})]),
    ("more light in the kitchen", [("HassLightSet", {"area": "kitchen", "domain": "light", "brightness_step": 25})]),
    ("desk lamp a notch brighter", [("HassLightSet", {"name": "desk_lamp", "brightness_step": 10})]),
    ("bump the purifier up to eight", [("SetFanMode", {"name": "air_purifier", "fan_mode": "8"})]),
    ("purifier on automatic", [("SetFanMode", {"name": "air_purifier", "fan_mode": "auto"})]),
    ("opening the blinds", [("HassTurnOn", {"name": "living_room_blinds"})]),
    ("blinds down to thirty percent", [("HassSetPosition", {"name": "living_room_blinds", "position": 30})]),
    ("halt the blinds", [("HassStopMoving", {"name": "living_room_blinds"})]),
    ("bedroom light to neutral white", [("HassLightSet", {"name": "bedroom_light", "color_temp_kelvin": 3500})]),
    ("the floor lamp in blue", [("HassLightSet", {"name": "living_room_lamp", "color": "blue"})]),
    ("bedside lamp warmer", [("HassLightSet", {"name": "bedroom_light", "color_temp_step_kelvin": -500})]),
    ("every light in the house to twenty percent", [("HassLightSet", {"domain": "light", "brightness": 20})]),
    ("power down everything in the kitchen", [("HassTurnOff", {"area": "kitchen"})]),
    ("coffee machine on as well as the desk lamp",
     [("HassTurnOn", {"name": "coffee_maker"}), ("HassTurnOn", {"name": "desk_lamp"})]),
    ("we need movie time", [("HassTurnOn", {"scene": "movie_night"})]),
    ("did i leave the coffee machine on", [("HassGetState", {"name": "coffee_maker", "attribute": "state",
                                                             "expected": "ON"})]),
    ("what brightness is the desk lamp at", [("HassGetState", {"name": "desk_lamp", "attribute": "brightness"})]),
])
def test_a_command_in_words_no_template_has(registry, text, want):
    assert _read(registry, text) == want


def test_the_lights_are_the_lights_of_the_microphones_room(registry):
    assert _read(registry, "lights off", area="bedroom") == [("HassTurnOff", {"area": "bedroom", "domain": "light"})]
    assert _read(registry, "lights off") is None  # which room? the templates ask


@pytest.mark.parametrize("text", [
    "the kitchen light was so bright yesterday",  # a story
    "i turned the desk lamp off earlier",  # the past
    "if the blinds are open the room gets hot",  # a condition
    "do not turn on the kitchen light",  # a negation
    "turn on the bathroom light",  # a room this home does not have
    "turn the desk lamp off brighter",  # two actions that do not go together
    "set the desk lamp to forty",  # forty what?
    "switch up the kitchen light",  # one vowel from "switch off"
    "turn on the kitchen light and",  # cut off
    "my sister likes blue lights",
    "lights off",  # no room known
    "the purifier is so loud",
])
def test_anything_not_accounted_for_reads_nothing(registry, text):
    assert _read(registry, text) is None


def test_the_matcher_reads_by_parts_after_the_templates(language):
    [intent] = match(language, "would you mind dimming the desk lamp a smidge")
    assert (intent.name, dict(intent.slots), intent.source, intent.confidence) == (
        "HassLightSet", {"name": "desk_lamp", "brightness_step": -10}, "own", CONFIDENCE)
    [intent] = match(language, "turn on the kitchen light")
    assert intent.confidence == 1.0  # a template's match is word for word, not read by parts


def test_a_floor_is_never_a_near_miss_of_a_group(language):
    """ "upstairs lights" was snapped to the group "downstairs lights": the wrong floor's lights changed."""
    found = match(language, "upstairs lights to 50 percent")
    assert isinstance(found, tuple)
    assert sorted(i.slots["area"] for i in found) == ["bedroom", "office"]


@pytest.mark.parametrize("text", ["excuse me, is the coffee machine on or off?", "the kitchen used to be yellow",
                                  "brightness 40 percent in the office"])
def test_the_fuzzy_guess_never_turns_a_question_or_a_story_into_a_change(language, text):
    """Home Assistant's n-gram matcher turned each of these into a change (off; yellow; 40 kelvin)."""
    found = match(language, text)
    if isinstance(found, NotUnderstood):
        return
    for intent in found:
        assert intent.name == "HassGetState" or intent.slots.get("brightness") == 40, intent


@pytest.mark.parametrize("text, want", [
    ("I need the blinds closed, the sun's in my eyes", [("HassTurnOff", {"name": "living_room_blinds"})]),
    ("no wait, never mind", [("HassNevermind", {})]),
])
def test_a_reason_or_a_calling_off_beside_the_words(language, text, want):
    found = match(language, text)
    assert [(i.name, dict(i.slots)) for i in found] == want


@pytest.mark.parametrize("text", ["turn on the desk lamp, no wait", "the desk lamp on, actually the kitchen light",
                                  "turn off the kitchen light, or the desk lamp", "lights up in the kitchen"])
def test_a_clause_that_turns_the_command_around_is_no_reason(language, text):
    assert isinstance(match(language, text), NotUnderstood)


@pytest.mark.parametrize("text, want", [
    ("turn on the kitchen light and set to 60 percent",
     [("HassTurnOn", {"name": "kitchen_light"}), ("HassLightSet", {"name": "kitchen_light", "brightness": 60})]),
    ("dim the desk lamp by 20", [("HassLightSet", {"name": "desk_lamp", "brightness_step": -20})]),
    ("make it a bit brighter in the living room",
     [("HassLightSet", {"area": "living room", "domain": "light", "brightness_step": 10})]),
])
def test_parts_joined_by_and_a_step_by_a_number_and_the_room_as_it(registry, text, want):
    assert _read(registry, text) == want


@pytest.mark.parametrize("text", [
    "she painted the living room blue",  # a story: its subject and verb are no stray words before a command
    "right in the living room lamp by 30 percent",  # by 30 more, or less?
    "right on the kitchen light a little",  # a little of what?
    "office make it a bit brighter in the living room",  # two rooms: one is the recognizer's echo
])
def test_a_transcript_that_only_looks_like_a_command_changes_nothing(language, text):
    assert isinstance(match(language, text), NotUnderstood)


@pytest.mark.parametrize("text", [
    "set the bedroom lights to 30 percent",  # was snapped to the "bedroom blind" of the other home: the blind moved
    "put the kitchen lighting on",  # was snapped to the "kitchen ceiling"
    "make the lamp purple",  # was snapped to the "kitchen lamp"
])
def test_a_word_for_a_kind_of_thing_or_a_verb_is_never_snapped_into_a_name(language, text):
    from assistant.intents.forgiving import near_names
    from assistant.intents.matcher import _names

    assert [n for _, n, _ in near_names(text, _names(language), 0.7)] == []
