"""The wake policy with scripted scores: threshold, consecutive frames, refractory, warm-up."""

import pytest

from assistant.config import WakeSettings
from assistant.messages import WakeScores
from assistant.wake import WakePolicy


def run(policy, scores, word="alexa", start_ms=0):
    hits = []
    for i, s in enumerate(scores):
        hit = policy.feed(WakeScores(start_ms + (i + 1) * 80, {word: s}))
        if hit:
            hits.append(hit)
    return hits


def settings(**kw):
    base = dict(threshold=0.5, trigger_frames=1, refractory_ms=2000, warmup_ms=0)
    base.update(kw)
    return WakeSettings(**base)


def test_threshold_fires_once_with_time_and_peak():
    hits = run(WakePolicy(settings()), [0.1, 0.2, 0.7, 0.9, 0.4, 0.1])
    assert [(h.wake_word, h.time_ms, h.score) for h in hits] == [("alexa", 240, 0.7)]


def test_below_threshold_never_fires():
    assert run(WakePolicy(settings()), [0.49] * 50) == []


def test_consecutive_frames_required():
    policy = WakePolicy(settings(trigger_frames=3))
    assert run(policy, [0.9, 0.9, 0.1, 0.9, 0.9, 0.1]) == []
    hits = run(WakePolicy(settings(trigger_frames=3)), [0.6, 0.95, 0.7, 0.2])
    assert len(hits) == 1 and hits[0].time_ms == 240 and hits[0].score == 0.95


def test_refractory_blocks_repeat_then_allows():
    scores = [0.9] + [0.0] * 10 + [0.9] + [0.0] * 20 + [0.9]
    hits = run(WakePolicy(settings(refractory_ms=2000)), scores)
    # frame 1 at 80 ms fires; frame 12 (960 ms) is inside 2 s; frame 33 (2640 ms) is after it
    assert [h.time_ms for h in hits] == [80, 2640]


def test_warmup_after_reset_is_ignored():
    policy = WakePolicy(settings(warmup_ms=1360))
    policy.reset(at_ms=0)
    # a high score inside the first 1.36 s (the model's unreliable window) is ignored
    assert run(policy, [0.95] * 17) == []
    assert len(run(policy, [0.95], start_ms=17 * 80)) == 1


def test_reset_clears_refractory_for_a_new_stream():
    policy = WakePolicy(settings())
    assert len(run(policy, [0.9])) == 1
    policy.reset(at_ms=0)
    assert len(run(policy, [0.9])) == 1


def test_best_of_several_wake_words():
    policy = WakePolicy(settings())
    hit = policy.feed(WakeScores(80, {"alexa": 0.6, "hey_jarvis": 0.8}))
    assert hit.wake_word == "hey_jarvis"


def test_suppress_until_blocks_detection():
    policy = WakePolicy(settings())
    policy.suppress_until(1000)
    hits = run(policy, [0.9] * 14)
    assert [h.time_ms for h in hits] == [1040]


def run_levels(policy, frames, word="hey_jarvis"):
    """frames: (score, level dBFS) per 80 ms frame."""
    hits = []
    for i, (s, level) in enumerate(frames):
        hit = policy.feed(WakeScores((i + 1) * 80, {word: s}), level)
        if hit:
            hits.append(hit)
    return hits


def test_quiet_room_keeps_the_configured_threshold():
    policy = WakePolicy(settings())
    assert run_levels(policy, [(0.0, -60.0)] * 40 + [(0.45, -20.0)]) == []  # loud speech, quiet background
    assert policy.threshold() == 0.5


def test_loud_background_lowers_the_threshold_step_by_step():
    policy = WakePolicy(settings())
    assert run_levels(policy, [(0.0, -37.5)] * 62) == []
    assert abs(policy.threshold() - 0.425) < 1e-9  # half way from -45 to -30 dBFS: half way to 0.35
    loud = WakePolicy(settings())
    hits = run_levels(loud, [(0.0, -25.0)] * 62 + [(0.4, -15.0)])
    assert len(hits) == 1 and loud.threshold() == 0.35
    assert run_levels(WakePolicy(settings()), [(0.0, -25.0)] * 62 + [(0.3, -15.0)]) == []


def test_noise_adaptive_threshold_can_be_switched_off():
    policy = WakePolicy(settings(noisy_threshold=0.5))
    assert run_levels(policy, [(0.0, -20.0)] * 62 + [(0.45, -10.0)]) == []


def test_background_is_the_quiet_part_not_the_speech():
    policy = WakePolicy(settings())
    # 5 s of a person talking at -20 dBFS with pauses at -55 dBFS: the background is the pauses
    run_levels(policy, [(0.0, -20.0 if i % 3 else -55.0) for i in range(62)])
    assert policy.background_dbfs() == -55.0 and policy.threshold() == 0.5


def test_level_dbfs():
    import numpy as np

    from assistant.wake import level_dbfs

    assert level_dbfs(np.zeros(1280, "<i2").tobytes()) == -120.0
    full = np.full(1280, 32767, "<i2").tobytes()
    assert abs(level_dbfs(full)) < 0.01
    tenth = np.full(1280, 3277, "<i2").tobytes()
    assert abs(level_dbfs(tenth) + 20.0) < 0.01


def test_bad_noisy_threshold_in_the_config_names_file_and_line(tmp_path):
    from assistant.config import load_settings
    from assistant.errors import ConfigError

    (tmp_path / "assistant.yaml").write_text("wake:\n  threshold: 0.5\n  noisy_threshold: 1.5\n")
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert "assistant.yaml" in str(err.value) and "3" in str(err.value) and "noisy_threshold" in str(err.value)


def test_reset_forgets_the_last_streams_background():
    policy = WakePolicy(settings())
    run_levels(policy, [(0.0, -20.0)] * 62)
    assert policy.threshold() == 0.35
    policy.reset(0)
    assert policy.background_dbfs() is None and policy.threshold() == 0.5


@pytest.mark.parametrize("yaml,key", [
    ("wake:\n  threshold: 0.4\n  noisy_threshold: 0.45\n", "noisy_threshold"),
    ("wake:\n  quiet_floor_dbfs: -30\n  noisy_floor_dbfs: -40\n", "quiet_floor_dbfs"),
])
def test_inconsistent_noise_settings_are_config_errors(tmp_path, yaml, key):
    from assistant.config import load_settings
    from assistant.errors import ConfigError

    (tmp_path / "assistant.yaml").write_text(yaml)
    with pytest.raises(ConfigError, match=key):
        load_settings(tmp_path)


# ---------------------------------------------------------------------- unsure runs and the second look

def unsure(scores, **kw):
    policy = WakePolicy(settings(**kw), recheck=True)
    return policy, run(policy, scores, word="hey_jarvis")


def test_an_unsure_run_becomes_one_candidate_after_it_is_over():
    _, hits = unsure([0.0, 0.2, 0.35, 0.15, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    # peak 0.35 at 240 ms; the run's last frame over 0.1 ends at 320 ms; over after 320 ms below it
    assert [(type(h).__name__, h.score, h.peak_ms, h.time_ms) for h in hits] == [("WakeCandidate", 0.35, 240, 640)]


def test_a_short_dip_does_not_end_a_run_and_the_threshold_takes_precedence():
    # "hey" scores a little, "jarvis" crosses the threshold: a detection, never a candidate
    _, hits = unsure([0.0, 0.13, 0.02, 0.43, 0.67, 0.9, 0.1] + [0.0] * 10)
    assert [(type(h).__name__, h.score) for h in hits] == [("WakeDetected", 0.67)]


def test_a_long_unsure_run_is_judged_once_without_waiting_for_its_end():
    _, hits = unsure([0.3] + [0.2] * 30)
    assert len(hits) == 1 and hits[0].peak_ms == 80 and hits[0].time_ms == 80 + 560


def test_no_candidates_without_a_second_look_or_below_the_recheck_threshold():
    assert run(WakePolicy(settings()), [0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0]) == []
    assert unsure([0.0, 0.3] + [0.0] * 6, recheck_threshold=0)[1] == []
    assert unsure([0.0, 0.09] + [0.0] * 6)[1] == []


def test_the_verdict_of_the_second_look():
    policy, (candidate,) = unsure([0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0])
    assert policy.confirm(candidate, -3.6, 600) is None  # under recheck_support (-3.5)
    wake = policy.confirm(candidate, -2.0, 600)
    assert (wake.wake_word, wake.time_ms, wake.onset_ms, wake.score, wake.recheck) == \
        ("hey_jarvis", 600, 160, 0.3, -2.0)
    # and it starts the refractory period like any detection
    assert run(policy, [0.9] * 5, word="hey_jarvis", start_ms=600) == []


def test_wake_phrases():
    from assistant.wake import wake_phrase

    assert [wake_phrase(n) for n in ("hey_jarvis", "alexa", "hey_computer_v0.2")] == \
        ["Hey Jarvis.", "Alexa.", "Hey Computer."]


@pytest.mark.parametrize("line,key", [("recheck_threshold: 1.2", "recheck_threshold"),
                                      ("recheck_support: 2", "recheck_support")])
def test_bad_second_look_settings_name_the_key(tmp_path, line, key):
    from assistant.config import load_settings
    from assistant.errors import ConfigError

    (tmp_path / "assistant.yaml").write_text(f"wake:\n  {line}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert "assistant.yaml" in str(err.value) and key in str(err.value)
    (tmp_path / "assistant.yaml").write_text("wake:\n  recheck_threshold: 0\n")
    assert load_settings(tmp_path).wake.recheck_threshold == 0  # 0 is allowed: the second look off
