"""Turn-taking after the wake word, on real WAVs through the real loop (wake model, VAD, listener, grammar
recognizer, dry run): after a pause the command starts where the wake word ended, whether the wake model's
first confident frame came after the word's end or before it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assistant.audio import frames, read_wav

pytestmark = pytest.mark.models
FIXTURES = Path(__file__).parent / "fixtures"
SR = 16000
WAKE_END_S = {row["file"]: row["speech_end_s"] for row in map(json.loads, open(FIXTURES / "wake" / "labels.jsonl"))}
COMMANDS = {row["file"]: row for row in map(json.loads, open(FIXTURES / "commands" / "labels.jsonl"))}
CASES = [("pos_hey_jarvis__joe.wav", "turn_on_the_kitchen_light__joe.wav"),
         ("pos_hey_jarvis__heart.wav", "dim_the_desk_lamp__heart.wav"),
         ("pos_hey_jarvis__heart-gb.wav", "set_the_kitchen_light_to_fifty_percent__heart.wav"),
         ("pos_alexa__joe.wav", "make_the_desk_lamp_brighter__joe.wav")]


class EarlyFiring:
    """The real wake policy, with each detection's first confident frame moved early_ms earlier: the model
    firing before the word has ended, as it does for some speakers' "alexa"."""

    def __init__(self, policy, early_ms: int):
        self.policy, self.early_ms = policy, early_ms

    def feed(self, scores, level_dbfs=None):
        wake = self.policy.feed(scores, level_dbfs)
        return None if wake is None else replace(wake, onset_ms=wake.onset_ms - self.early_ms)


@pytest.fixture(scope="module")
def loop():
    pytest.importorskip("pocketsphinx")
    from assistant.app import build
    from assistant.config import load_settings

    settings = load_settings().with_overrides(wake={"wake_words": ("alexa", "hey_jarvis")},
                                              speech={"engine": "grammar"})
    return build(settings, None)


def wake_word(name: str) -> np.ndarray:
    return read_wav(FIXTURES / "wake" / name)[: int((WAKE_END_S[name] + 0.02) * SR)]


def turn_clip(wake_name: str, command_name: str, pause_s: float) -> np.ndarray:
    """The wake word, pause_s of a quiet room (about -70 dBFS), the command, 2 s of the room."""
    row = COMMANDS[command_name]
    command = read_wav(FIXTURES / "commands" / command_name)
    said = command[int(max(0.0, row["speech_start_s"] - 0.05) * SR): int((row["speech_end_s"] + 0.05) * SR)]
    rng = np.random.default_rng(1)
    room = rng.normal(0, 10, int(pause_s * SR)).astype(np.int16)
    return np.concatenate([wake_word(wake_name), room, said, rng.normal(0, 10, 2 * SR).astype(np.int16)])


def run(loop, clip: np.ndarray, early_ms: int = 0):
    pipeline = loop.pipeline(lambda event: None)
    if early_ms:
        pipeline.policy = EarlyFiring(pipeline.policy, early_ms)
    return pipeline.run(frames(clip))


@pytest.mark.parametrize("pause_s", [0.2, 0.35, 1.0])
@pytest.mark.parametrize("wake_name,command_name", CASES)
def test_wake_model_firing_before_the_word_ends(loop, wake_name, command_name, pause_s):
    """The first confident frame 160 ms earlier than the model put it, then a pause: the rest of the word
    must neither enter the command nor close the turn before the command is said. Before the listener
    looked for the pause, 0.2 s gave 'is the desk lamp off', 'set the desk lamp brighter' or nothing."""
    turns = run(loop, turn_clip(wake_name, command_name, pause_s), early_ms=160)
    assert [t.transcript.text for t in turns] == [COMMANDS[command_name]["text"]]
    assert turns[0].utterance.start_ms >= WAKE_END_S[wake_name] * 1000 - 20


@pytest.mark.parametrize("wake_name", ["pos_alexa__joe.wav", "pos_alexa__heart.wav", "pos_hey_jarvis__joe.wav",
                                       "pos_hey_jarvis__espeak-en-gb-140.wav"])
@pytest.mark.parametrize("onset_after_end_ms", [-160, -80, 0, 80, 160, 240])
def test_wake_word_end_found_wherever_the_model_fired(wake_name, onset_after_end_ms):
    """Real wake words followed by a pause: wherever the first confident frame falls, from 160 ms before
    the word's labelled end to 240 ms after it, the end is found within 30 ms, never inside "ale[k]sa"."""
    from assistant.wake import wake_word_end

    end_ms = round(WAKE_END_S[wake_name] * 1000)
    audio = np.concatenate([wake_word(wake_name), np.random.default_rng(2).normal(0, 10, SR).astype(np.int16)])
    found = wake_word_end(audio.tobytes(), 0, end_ms + onset_after_end_ms, 240, 240)
    assert found is not None and abs(found - end_ms) <= 30


def test_no_end_is_claimed_where_a_noise_fills_the_gaps():
    """Steady noise as loud as the speech: no gap can be seen, so the listener keeps its older rule."""
    from assistant.wake import wake_word_end

    audio = wake_word("pos_alexa__joe.wav").astype(np.float64)
    noisy = audio + np.random.default_rng(3).normal(0, np.sqrt(np.mean(audio ** 2)), len(audio))
    clipped = np.clip(np.round(noisy), -32768, 32767).astype(np.int16)
    assert wake_word_end(clipped.tobytes(), 0, len(audio) * 1000 // SR - 100, 240, 240) is None


@pytest.mark.parametrize("name", ["onebreath_set_the_living_room_lamp_to_warm_white__heart.wav",
                                  "onebreath_turn_off_the_kitchen_light__joe.wav"])
def test_no_end_is_claimed_for_a_command_in_one_breath(name):
    """Said in one breath, the short gaps near the first confident frame are a stop inside the command
    ("se[t] the", 10 ms before it) or the space between the words ("jarvis | turn", 150 ms before it, with
    stops after it): no rule by place, level or length tells them apart on these fixtures, so none is
    claimed and the listener keeps its look-back (both turns are heard right in test_voice_loop)."""
    from assistant.wake import wake_word_end

    row = next(r for r in map(json.loads, open(FIXTURES / "turns" / "labels.jsonl")) if r["file"] == name)
    audio = read_wav(FIXTURES / "turns" / name)
    onset_ms = 1760  # where the wake model is first confident in both clips
    assert row["turns"][0]["command_start_s"] == row["turns"][0]["wake_end_s"]  # no pause at all
    assert wake_word_end(audio[: (onset_ms + 440) * 16].tobytes(), 0, onset_ms, 240, 320) is None
