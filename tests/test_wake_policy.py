"""The wake policy with scripted scores: threshold, consecutive frames, refractory, warm-up."""

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
