"""The evaluation's pure parts on hand-made cases: WER, message/intent matching, percentiles, noise mixing,
dataset loading and the figures computed from hand-made clip results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import ConfigError
from assistant.evaluate.dataset import Clip, ExpectedMessage, load_dataset
from assistant.evaluate.metrics import (canonical, edit_distance, intents_match, messages_match, percentile, wer,
                                        words)
from assistant.evaluate.noise import active_rms, clip_seed, mix
from assistant.evaluate.runner import ClipResult, TurnResult
from assistant.evaluate.summary import figures


def test_words_drop_case_and_punctuation():
    assert words("Turn ON the kitchen-light, please!") == ["turn", "on", "the", "kitchen", "light", "please"]
    assert words(None) == []


def test_edit_distance_counts_substitutions_deletions_insertions():
    ref = "turn on the kitchen light".split()
    assert edit_distance(ref, ref) == 0
    assert edit_distance(ref, "turn off the kitchen light".split()) == 1  # one substitution
    assert edit_distance(ref, "turn on kitchen light".split()) == 1  # one deletion
    assert edit_distance(ref, "turn on the the kitchen light".split()) == 1  # one insertion
    assert edit_distance(ref, []) == 5
    assert edit_distance([], ["hello"]) == 1


def test_wer_is_pooled_over_the_corpus():
    pairs = [("turn on the light", "turn on the light"),  # 0 of 4
             ("open the blinds", "open blinds"),  # 1 of 3
             ("never mind", None)]  # 2 of 2: nothing recognised
    assert wer(pairs) == pytest.approx(3 / 9)
    assert wer([]) is None
    assert wer([(None, "anything")]) is None  # no reference words


def test_messages_match_compares_topic_and_parsed_json_as_a_multiset():
    expected = [("z/kitchen_light/set", {"state": "ON", "brightness": 127}), ("z/desk_lamp/set", {"state": "OFF"})]
    # Order of messages and of keys, and JSON spacing, do not matter; values do.
    assert messages_match(expected, [("z/desk_lamp/set", '{"state":"OFF"}'),
                                     ("z/kitchen_light/set", '{"brightness": 127, "state": "ON"}')])
    assert not messages_match(expected, [("z/kitchen_light/set", '{"state":"ON","brightness":128}'),
                                         ("z/desk_lamp/set", '{"state":"OFF"}')])
    assert not messages_match(expected, [("z/kitchen_light/set", '{"state":"ON","brightness":127}')])  # one missing
    assert not messages_match(expected[:1], expected[:1] * 2)  # a duplicate is an extra message
    assert not messages_match([("z/a/set", {"state": "ON"})], [("z/b/set", '{"state":"ON"}')])  # wrong topic
    assert messages_match([], [])
    assert messages_match([("z/l/set", {"color": {"x": 0.3, "y": 0.6}})], [("z/l/set", '{"color":{"y":0.6,"x":0.3}}')])
    assert canonical({"brightness": 127.0}) == canonical({"brightness": 127})
    assert messages_match([("t", "not json")], [("t", "not json")])


def test_intents_match_needs_same_order_and_slots():
    a = {"name": "HassTurnOn", "slots": {"name": "desk_lamp"}}
    b = {"name": "HassLightSet", "slots": {"name": "desk_lamp", "brightness_step": -25}}
    assert intents_match([a, b], [a, b])
    assert not intents_match([a, b], [b, a])
    assert not intents_match([a], [{"name": "HassTurnOn", "slots": {"name": "desk_lamp", "domain": "light"}}])
    assert not intents_match([a], [])
    assert intents_match([], [])


def test_percentile_interpolates_between_ranks():
    values = [10, 20, 30, 40]
    assert percentile(values, 50) == 25
    assert percentile(values, 0) == 10
    assert percentile(values, 100) == 40
    assert percentile([3, 1, 2], 50) == 2  # unsorted input
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert percentile([], 50) is None
    assert percentile([7], 95) == 7


def test_mixing_reaches_the_asked_snr_and_repeats_with_the_seed():
    t = np.arange(16000) / 16000
    speech = np.concatenate([np.zeros(8000), 0.1 * np.sin(2 * np.pi * 300 * t), np.zeros(8000)])
    clean = np.round(speech * 32767).astype(np.int16)
    seed = clip_seed(5, "a.wav")
    noisy = mix(clean, 10.0, seed)
    again = mix(clean, 10.0, seed)
    assert np.array_equal(noisy, again)
    assert not np.array_equal(noisy, mix(clean, 10.0, clip_seed(5, "b.wav")))
    noise = (noisy.astype(np.float64) - clean) / 32768
    snr = 20 * np.log10(active_rms(clean.astype(np.float64) / 32768) / np.sqrt(np.mean(noise ** 2)))
    assert snr == pytest.approx(10.0, abs=0.1)


def _write_set(folder: Path, rows: list) -> None:
    for row in rows:
        if isinstance(row, dict) and "file" in row:
            (folder / row["file"]).write_bytes(b"")
    (folder / "labels.jsonl").write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


def test_dataset_loads_labels_and_conditions(tmp_path):
    row = {"file": "a.wav", "kind": "command", "wake_word": "hey_jarvis", "transcript": "open the blinds",
           "intents": [{"name": "HassTurnOn", "slots": {"name": "living_room_blinds"}}],
           "messages": [{"topic": "z/living_room_blinds/set", "payload": {"state": "OPEN"}}],
           "voice": "v", "snr_db": None}
    _write_set(tmp_path, [row])
    (tmp_path / "conditions.json").write_text('{"snr_db": [null, 10, 0], "seed": 7}')
    data = load_dataset(tmp_path)
    assert data.clips[0].messages == (ExpectedMessage("z/living_room_blinds/set", {"state": "OPEN"}),)
    assert [c.name for c in data.conditions] == ["clean", "10 dB", "0 dB"]
    assert {c.seed for c in data.conditions} == {7}


@pytest.mark.parametrize("rows, says", [
    ([], "labels.jsonl: no clips"),
    (["{not json"], ":1: invalid JSON"),
    ([{"file": "a.wav", "kind": "chatter"}], "kind 'chatter' is not one of"),
    ([{"kind": "command"}], "missing field 'file'"),
    ([{"file": "a.wav", "kind": "command", "messages": [{"payload": {}}]}], "each message must be"),
    ([{"file": "a.wav", "kind": "noise"}, {"file": "a.wav", "kind": "noise"}], "listed twice"),
])
def test_bad_labels_are_one_line_errors(tmp_path, rows, says):
    _write_set(tmp_path, rows)
    with pytest.raises(ConfigError, match=says):
        load_dataset(tmp_path)


def test_missing_wav_and_folder_are_named(tmp_path):
    (tmp_path / "labels.jsonl").write_text('{"file": "gone.wav", "kind": "noise"}\n')
    with pytest.raises(ConfigError, match="gone.wav does not exist"):
        load_dataset(tmp_path)
    with pytest.raises(ConfigError, match="not a folder"):
        load_dataset(tmp_path / "nowhere")


def _clip(kind, wake="hey_jarvis", transcript=None, intents=(), messages=()):
    return Clip(f"{kind}.wav", Path(f"{kind}.wav"), kind, wake, transcript, tuple(intents),
                tuple(ExpectedMessage(t, p) for t, p in messages), wake_end_s=1.0)


def _turn(wake="hey_jarvis", text=None, intents=(), messages=(), at_s=1.2):
    return TurnResult(wake, at_s, 0.9, "silence", text, tuple(intents), tuple(messages), bool(intents), None, {})


def test_figures_from_hand_made_results():
    on = {"name": "HassTurnOn", "slots": {"name": "desk_lamp"}}
    results = [
        # right in every way
        ClipResult(_clip("command", transcript="switch on the desk light", intents=[on],
                         messages=[("z/desk_lamp/set", {"state": "ON"})]), "clean", 3.0, {"hey_jarvis": 0.9},
                   (_turn(text="switch on the desk light", intents=[on], messages=[("z/desk_lamp/set", '{"state":"ON"}')]),)),
        # heard, one word wrong, rejected
        ClipResult(_clip("command", transcript="open the blinds", intents=[on], messages=[("z/b/set", {"state": "OPEN"})]),
                   "clean", 3.0, {"hey_jarvis": 0.8}, (_turn(text="open the bins"),)),
        # ordinary speech accepted as a command: not rejected, and the MQTT figure for all clips drops
        ClipResult(_clip("non_command"), "clean", 3.0, {"hey_jarvis": 0.9},
                   (_turn(text="open the blinds", intents=[on], messages=[("z/desk_lamp/set", '{"state":"ON"}')]),)),
        # a false activation on a clip without the wake word
        ClipResult(_clip("no_wake", wake=None), "clean", 1800.0, {"hey_jarvis": 0.6}, (_turn(),)),
        ClipResult(_clip("wake_only"), "clean", 1.0, {"hey_jarvis": 0.2}, ()),  # missed
    ]
    f = figures(results)
    assert f["wake"] == {"positives": 4, "detected": 3, "recall": 0.75, "false_activations": 1,
                         "false_activations_per_hour": pytest.approx(1 / (1810 / 3600), abs=0.01),
                         "detection_delay_ms_p50": 200.0, "detection_delay_ms_p95": 200.0}
    assert f["transcript"] == {"commands": 2, "exact": 1, "exact_rate": 0.5, "wer": 0.125}  # 1 of 5 + 3 words
    assert f["intent"]["exact"] == 1
    assert (f["mqtt"]["exact"], f["mqtt"]["commands"]) == (1, 2)
    # the first command, and the no_wake and wake_only clips (nothing expected, nothing sent)
    assert (f["mqtt"]["all_exact"], f["mqtt"]["all_clips"]) == (3, 5)
    # the ordinary speech that switched the desk lamp on is the one wrong action; the rejected command moved nothing
    assert (f["mqtt"]["wrong_actions"], f["mqtt"]["wrong_action_rate"]) == (1, 0.2)
    assert f["rejection"] == {"non_commands_heard": 1, "rejected": 0, "rejection_rate": 0.0, "commands_heard": 2,
                              "false_rejections": 1, "false_rejection_rate": 0.5}
