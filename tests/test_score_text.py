"""The text scorer's comparison (scripts/score_text.py) on scripted intents: no language, no hassil.

So the scorer cannot silently pass: a wrong device, a wrong value, a wrong sign, a wrong order, an extra or a
missing intent, or acting on a clarify item must each be counted against the matcher.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from assistant.messages import Intent, NotUnderstood

_spec = importlib.util.spec_from_file_location("score_text", Path(__file__).parent.parent / "scripts" / "score_text.py")
score_text = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(score_text)
judge, intent_matches, target_of = score_text.judge, score_text.intent_matches, score_text.target_of


def E(intent, /, **slots):
    return {"name": intent, "slots": slots}


def I(intent, /, **slots):  # noqa: E743
    return Intent(intent, slots)


NU = NotUnderstood("x", "no command matches")


def test_same_intent_is_right():
    assert judge([E("HassTurnOn", name="kitchen_light")], (I("HassTurnOn", name="kitchen_light"),)) == "right"


def test_wrong_device_wrong_name_or_wrong_target_kind_is_wrong():
    want = [E("HassTurnOff", name="desk_lamp")]
    assert judge(want, (I("HassTurnOff", name="bedroom_light"),)) == "wrong"
    assert judge(want, (I("HassTurnOn", name="desk_lamp"),)) == "wrong"
    assert judge(want, (I("HassTurnOff", area="office", domain="light"),)) == "wrong"
    assert judge([E("HassTurnOff", area="kitchen", domain="light")], (I("HassTurnOff", area="kitchen"),)) == "wrong"
    assert judge([E("HassTurnOff", domain="light")], (I("HassTurnOff", area="kitchen", domain="light"),)) == "wrong"


def test_not_understood_and_empty_tuple_are_not_understood():
    want = [E("HassTurnOn", name="kitchen_light")]
    assert judge(want, NU) == "not_understood"
    assert judge(want, ()) == "not_understood"


def test_clarify_item_acted_on_is_wrong_and_declined_is_right():
    assert judge([], (I("HassTurnOff", domain="light"),)) == "wrong"
    assert judge(None, (I("HassNevermind"),)) == "wrong"
    assert judge([], NU) == "right"


def test_values_must_be_equal_and_present():
    want = [E("HassLightSet", name="desk_lamp", brightness=40)]
    assert judge(want, (I("HassLightSet", name="desk_lamp", brightness=40),)) == "right"
    assert judge(want, (I("HassLightSet", name="desk_lamp", brightness=40.0),)) == "right"
    assert judge(want, (I("HassLightSet", name="desk_lamp", brightness=14),)) == "wrong"
    assert judge(want, (I("HassLightSet", name="desk_lamp"),)) == "wrong"
    assert judge(want, (I("HassLightSet", name="desk_lamp", brightness_step=40),)) == "wrong"
    assert judge(want, (I("HassLightSet", name="desk_lamp", brightness=40, color="red"),)) == "wrong"
    assert judge([E("SetFanMode", name="air_purifier", fan_mode="3")],
                 (I("SetFanMode", name="air_purifier", fan_mode=3),)) == "right"
    assert judge([E("SetFanMode", name="air_purifier", fan_mode="auto")],
                 (I("SetFanMode", name="air_purifier", fan_mode="4"),)) == "wrong"


def test_steps_compare_by_sign_only():
    want = [E("HassLightSet", name="bedroom_light", brightness_step=10)]
    assert judge(want, (I("HassLightSet", name="bedroom_light", brightness_step=25),)) == "right"
    assert judge(want, (I("HassLightSet", name="bedroom_light", brightness_step=-25),)) == "wrong"
    warmer = [E("HassLightSet", name="bedroom_light", color_temp_step_kelvin=-500)]
    assert judge(warmer, (I("HassLightSet", name="bedroom_light", color_temp_step_kelvin=-300),)) == "right"
    assert judge(warmer, (I("HassLightSet", name="bedroom_light", color_temp_step_kelvin=500),)) == "wrong"
    assert judge(warmer, (I("HassLightSet", name="bedroom_light", color_temp_step_kelvin=0),)) == "wrong"


def test_compounds_compare_in_order_and_by_count():
    want = [E("HassTurnOff", name="kitchen_light"), E("HassTurnOff", name="desk_lamp")]
    good = (I("HassTurnOff", name="kitchen_light"), I("HassTurnOff", name="desk_lamp"))
    assert judge(want, good) == "right"
    assert judge(want, tuple(reversed(good))) == "wrong"
    assert judge(want, good[:1]) == "wrong"
    assert judge(want, good + (I("HassTurnOn", name="coffee_maker"),)) == "wrong"


def test_state_questions_compare_attribute_and_expected():
    want = [E("HassGetState", name="living_room_blinds", attribute="state", expected="CLOSE")]
    assert judge(want, (I("HassGetState", name="living_room_blinds", attribute="state", expected="closed"),)) == "right"
    assert judge(want, (I("HassGetState", name="living_room_blinds", attribute="state", expected="OPEN"),)) == "wrong"
    assert judge(want, (I("HassGetState", name="living_room_blinds", attribute="position"),)) == "wrong"


def test_a_named_target_ignores_a_redundant_domain_or_area_but_areas_are_normalised():
    assert target_of({"name": "desk_lamp", "domain": "light", "area": "office"}) == {"name": "desk_lamp"}
    assert target_of({"area": "living_room", "domain": "light"}) == {"area": "living room", "domain": "light"}
    assert intent_matches(E("HassTurnOn", area="living room", domain="light"),
                          I("HassTurnOn", area="Living Room", domain="light"))
    assert not intent_matches(E("HassTurnOn", scene="relax"), I("HassTurnOn", name="relax"))


def test_alternatives_are_accepted():
    want = [E("HassLightSet", area="office", domain="light", brightness_step=10)]
    alt = [[E("HassLightSet", name="desk_lamp", brightness_step=10)]]
    assert judge(want, (I("HassLightSet", name="desk_lamp", brightness_step=20),), alt) == "right"
    assert judge(want, (I("HassLightSet", name="desk_lamp", brightness_step=20),)) == "wrong"


def test_summaries_count_what_judge_says():
    rows = [
        {"verdict": "right", "clarify": False, "ms": 1.0, "sources": ["ha"], "crash": False},
        {"verdict": "wrong", "clarify": False, "ms": 2.0, "sources": ["own"], "crash": False},
        {"verdict": "not_understood", "clarify": False, "ms": 3.0, "sources": [], "crash": False},
        {"verdict": "wrong", "clarify": True, "ms": 4.0, "sources": ["own"], "crash": False},
    ]
    s = score_text.summarize_commands(rows)
    assert (s["commands"], s["right"], s["wrong"], s["not_understood"], s["clarify"], s["clarify_acted"]) == \
        (3, 1, 1, 1, 1, 1)
    assert s["right_by_source"] == {"ha": 1}
    assert s["median_ms"] == 2.5


class _Dev:
    def __init__(self, kind, area):
        self.kind, self.area = kind, area


class _Group:
    def __init__(self, members):
        self.members = members


class _Registry:
    devices = {"kitchen_light": _Dev("light", "kitchen"), "coffee_maker": _Dev("outlet", "kitchen"),
               "lamp_a": _Dev("light", "den"), "lamp_b": _Dev("light", "den")}
    groups = {"both": _Group(["lamp_a", "lamp_b"])}


def test_same_devices_counts_only_with_a_registry_and_only_for_the_same_set():
    resolve = score_text.registry_resolver(_Registry())
    area = [E("HassTurnOff", area="kitchen", domain="light")]
    by_name = (I("HassTurnOff", name="kitchen_light"),)
    assert judge(area, by_name) == "wrong"
    assert judge(area, by_name, resolve=resolve) == "right"  # the kitchen's one light
    assert judge(area, (I("HassTurnOff", area="kitchen"),), resolve=resolve) == "wrong"  # + the coffee maker
    den = [E("HassTurnOn", area="den", domain="light")]
    assert judge(den, (I("HassTurnOn", name="lamp_a"),), resolve=resolve) == "wrong"  # one of two lamps
    assert judge(den, (I("HassTurnOn", group="both"),), resolve=resolve) == "right"
    # HassLightSet acts on lights only, so a missing domain there is the same lights
    assert judge([E("HassLightSet", area="kitchen", domain="light", brightness=20)],
                 (I("HassLightSet", area="kitchen", brightness=20),), resolve=resolve) == "right"
    # scenes are never resolved: a scene id is not a device name
    assert judge([E("HassTurnOn", scene="relax")], (I("HassTurnOn", name="relax"),), resolve=resolve) == "wrong"


def test_out_of_domain_is_recognised_from_a_flag_or_a_named_category():
    class FakeRun:
        resolve = None

        def __init__(self, results):
            self.results = results

        def __call__(self, text, area=None):
            return self.results[text], 1.0

    class NU2:
        def __init__(self, text, ood):
            self.text, self.reason, self.out_of_domain = text, "x", ood

    run = FakeRun({"a": NU2("a", "timers"), "b": NU2("b", True), "c": NU2("c", None), "d": NotUnderstood("d", "x"),
                   "e": (I("HassTurnOn", name="kitchen_light"),)})
    rows = score_text.score_unlabelled(run, [{"text": t, "split": "tune"} for t in "abcde"])
    s = score_text.summarize_unlabelled(rows)
    assert (s["lines"], s["acted"], s["recognised_ood"]) == (5, 1, 2)


def test_one_intent_for_a_rooms_devices_equals_one_per_device_but_not_other_devices():
    rooms = {"living room": {"patio_blind", "side_blind"}, "bedroom": {"bedroom_blind"}}

    def resolve(name, slots):
        if "name" in slots:
            return frozenset({slots["name"]})
        return frozenset(rooms.get(slots.get("area"), ())) or None

    each = [E("HassTurnOff", name="patio_blind"), E("HassTurnOff", name="side_blind")]
    assert judge(each, (I("HassTurnOff", area="living room", domain="cover"),), resolve=resolve) == "right"
    assert judge(each, (I("HassTurnOff", area="bedroom", domain="cover"),), resolve=resolve) == "wrong"
    assert judge(each, (I("HassTurnOn", area="living room", domain="cover"),), resolve=resolve) == "wrong"
    assert judge(each, (I("HassTurnOff", area="living room", domain="cover"),)) == "wrong"  # no registry: unequal
