"""The satellite's loop with tiny fakes (a scorer that fires at given times, a scripted VAD, a hub that
records what it is sent and answers when told): every command ends in one report, a stand-down ends it
quietly, a follow-up window records without the wake word and the wake word still cuts in."""

import queue

import numpy as np

from assistant.audio import frames
from assistant.config import ListenerSettings, WakeSettings
from assistant.hearing import Ears
from assistant.listener import Listener, State
from assistant.messages import HubAnswer
from assistant.satellite import SatelliteLoop
from assistant.wake import WakePolicy
from test_pipeline import FiringScorer, ScriptedVad


class FakeHub:
    def __init__(self, up=True):
        self.up = up
        self.answers = queue.Queue()
        self.wakes, self.commands, self.pauses = [], [], []

    def send_wake(self, wake):
        self.wakes.append(wake)
        return self.up

    def send_pause(self, paused):
        self.pauses.append(paused)
        return self.up

    def send_command(self, utterance):
        self.commands.append(utterance)
        return self.up


def make(scorer, vad, hub, reports, timeout_ms=20000):
    ears = Ears(scorer, WakePolicy(WakeSettings(warmup_ms=0, trigger_frames=1)), Listener(ListenerSettings(), vad))
    return SatelliteLoop(ears, hub, reports.append, answer_timeout_ms=timeout_ms)


def run(loop, seconds, start_ms=0, answer_at=None):
    """Feed quiet frames; at answer_at (ms) put that answer on the hub's queue."""
    for frame in frames(np.full(int(16000 * seconds), 3, np.int16), start_ms):
        if answer_at and frame.start_ms == answer_at[0]:
            loop.hub.answers.put(answer_at[1])
        loop.step(frame)


def test_a_command_is_sent_and_its_answer_reported_then_a_follow_up_window_opens():
    hub, reports = FakeHub(), []
    loop = make(FiringScorer(1000), ScriptedVad((1400, 2600)), hub, reports)
    run(loop, 4, answer_at=(3440, HubAnswer("handled", "Kitchen light on.", 5000)))
    assert len(hub.wakes) == 1 and hub.wakes[0].snr_db is not None
    assert len(hub.commands) == 1
    assert hub.pauses and hub.commands[0].pcm.startswith(hub.pauses[-1].pcm)  # the hub can decode early
    assert [(r.kind, r.text, r.follow_up) for r in reports] == [("handled", "Kitchen light on.", True)]
    assert loop.ears.listener.state is State.RECORDING and loop.ears.listener.following


def test_no_hub_means_the_command_is_reported_not_sent():
    hub, reports = FakeHub(up=False), []
    loop = make(FiringScorer(1000), ScriptedVad((1400, 2600)), hub, reports)
    run(loop, 4)
    assert [(r.kind, r.text) for r in reports] == [("failed", "not sent: the hub cannot be reached")]
    assert loop.ears.listener.state is State.IDLE


def test_a_hub_that_never_answers_is_reported_once_and_listening_resumes():
    hub, reports = FakeHub(), []
    loop = make(FiringScorer(1000), ScriptedVad((1400, 2600)), hub, reports, timeout_ms=2000)
    run(loop, 7)
    assert [r.kind for r in reports] == ["failed"] and "did not answer" in reports[0].text
    assert loop.ears.listener.state is State.IDLE


def test_a_stand_down_while_recording_ends_the_turn_quietly():
    hub, reports = FakeHub(), []
    loop = make(FiringScorer(1000), ScriptedVad((1400, 2600)), hub, reports)
    run(loop, 4, answer_at=(1600, HubAnswer("stand_down", "kitchen heard it better")))
    assert hub.commands == [] and reports == []
    assert loop.ears.listener.state is State.IDLE


def test_the_wake_word_in_a_follow_up_window_starts_a_new_command():
    hub, reports = FakeHub(), []
    loop = make(FiringScorer(1000, 5000), ScriptedVad((1400, 2600), (5400, 6600)), hub, reports)
    run(loop, 8, answer_at=(3440, HubAnswer("handled", "done", 5000)))
    assert len(hub.wakes) == 2 and len(hub.commands) == 2
    assert hub.commands[1].start_ms >= 5000 - 400  # recorded from the second wake word on, as a new command
