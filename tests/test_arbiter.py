"""The wake arbiter with scripted claims: which satellite takes an utterance several heard, and when."""

from assistant.arbiter import WakeArbiter, WakeClaim


def claim(name, at_ms, score=0.9, snr_db=20.0):
    return WakeClaim(name, at_ms, score, snr_db)


def test_the_best_speech_to_noise_ratio_wins_when_the_window_closes():
    a = WakeArbiter(1500)
    assert a.claim(claim("hall", 1000, snr_db=12)) == []
    assert a.claim(claim("kitchen", 1150, snr_db=25)) == []
    assert a.claim(claim("office", 1300, snr_db=18)) == []
    assert a.due_ms() == 2500
    assert a.tick(2499) == []
    verdicts = a.tick(2500)
    assert {v.satellite: v.go for v in verdicts} == {"hall": False, "kitchen": True, "office": False}
    assert all(v.winner == "kitchen" for v in verdicts)
    assert a.due_ms() is None


def test_a_whole_command_decides_at_once_among_those_that_woke():
    a = WakeArbiter(1500)
    a.claim(claim("hall", 0, snr_db=10))
    a.claim(claim("kitchen", 200, snr_db=30))
    verdicts = a.command_ready("hall", 900)  # the worse one finished first: it still loses
    assert {v.satellite: v.go for v in verdicts} == {"hall": False, "kitchen": True}
    assert a.command_ready("kitchen", 1100) == []  # decided already; nothing more to say


def test_a_late_wake_within_the_window_of_a_decided_contest_stands_down_at_once():
    a = WakeArbiter(1500)
    a.claim(claim("hall", 0))
    a.command_ready("hall", 600)
    [late] = a.claim(claim("office", 900, snr_db=40))
    assert not late.go and late.winner == "hall"
    assert a.claim(claim("office", 1600)) == []  # after the window: a new utterance, a new contest


def test_the_ratio_ranks_the_score_breaks_a_tie_and_unmeasured_ranks_last():
    a = WakeArbiter(1000)
    a.claim(claim("hall", 0, score=0.99, snr_db=20.8))
    a.claim(claim("kitchen", 10, score=0.70, snr_db=21.0))
    a.claim(claim("office", 20, score=0.99, snr_db=None))
    assert [v.satellite for v in a.tick(1000) if v.go] == ["kitchen"]
    a.claim(claim("hall", 5000, score=0.95, snr_db=21.0))
    a.claim(claim("kitchen", 5010, score=0.70, snr_db=21.0))
    assert [v.satellite for v in a.tick(6000) if v.go] == ["hall"]


def test_one_satellite_alone_goes_and_a_claimant_that_leaves_cannot_win():
    a = WakeArbiter(1500)
    a.claim(claim("hall", 0))
    assert [(v.satellite, v.go) for v in a.command_ready("hall", 800)] == [("hall", True)]
    a.claim(claim("kitchen", 5000, snr_db=30))
    a.claim(claim("office", 5100, snr_db=10))
    a.forget("kitchen")
    assert [(v.satellite, v.go) for v in a.tick(6500)] == [("office", True)]


def test_no_window_means_every_wake_goes():
    a = WakeArbiter(0)
    assert [(v.satellite, v.go) for v in a.claim(claim("hall", 0))] == [("hall", True)]
    assert [(v.satellite, v.go) for v in a.claim(claim("kitchen", 0))] == [("kitchen", True)]
    assert a.due_ms() is None
