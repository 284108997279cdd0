"""Pipeline logic with tiny fakes: a scorer that fires at given times, a scripted VAD, a recognizer
that returns fixed text, and a recording dispatcher. The real parts are exercised in test_voice_loop."""

import numpy as np
import pytest

from assistant.audio import frames
from assistant.config import ListenerSettings, Settings, WakeSettings
from assistant.listener import Listener
from assistant.messages import (DeviceCommand, DeviceOutcome, EndReason, Intent, MqttMessage, NotUnderstood, Outcome,
                                Transcript, WakeScores)
from assistant.messages import Dispatched
from assistant.pipeline import Pipeline
from assistant.wake import WakePolicy


class FiringScorer:
    def __init__(self, *fire_ms):
        self.fire_ms = fire_ms

    def score(self, frame):
        hit = any(frame.start_ms <= t < frame.end_ms for t in self.fire_ms)
        return WakeScores(frame.end_ms, {"hey_jarvis": 0.95 if hit else 0.01})


class ScriptedVad:
    def __init__(self, *ranges):
        self.ranges = ranges

    def reset(self):
        pass

    def probability(self, frame):
        return 0.9 if any(a <= frame.start_ms < b for a, b in self.ranges) else 0.0


class FixedRecognizer:
    name = "fixed"

    def __init__(self, *texts, noisy=False):
        self.texts = list(texts)
        self.heard = []
        self.noisy = noisy  # as if a loud steady background were to be suppressed first

    def suppresses(self, pcm):
        return self.noisy

    def transcribe(self, pcm):
        self.heard.append(len(pcm))
        text = self.texts.pop(0)
        return Transcript(text, 0.9 if text else 0.0, "fixed", rejected=not text)


class RecordingDispatcher:
    def __init__(self):
        self.calls = []

    def __call__(self, intents):
        self.calls.append(intents)
        msgs = tuple(MqttMessage(f"zigbee2mqtt/{i.slots['name']}/set", '{"state":"ON"}') for i in intents)
        outs = tuple(DeviceOutcome(i.slots["name"], Outcome.DONE, {"state": "ON"}) for i in intents)
        cmds = tuple(DeviceCommand(i.slots["name"], {"state": "ON"}) for i in intents)
        return Dispatched(cmds, msgs, outs, publish_ms=1.0, echo_ms=2.0)


def understand(text):
    if text == "turn on the kitchen light":
        return (Intent("HassTurnOn", {"name": "kitchen_light"}),)
    return NotUnderstood(text, "no sentence matches")


def make(scorer, vad, recognizer, dispatcher, events, listener=ListenerSettings()):
    settings = Settings(wake=WakeSettings(warmup_ms=0, trigger_frames=1), listener=listener)
    return Pipeline(settings, scorer, WakePolicy(settings.wake), Listener(settings.listener, vad), recognizer,
                    understand, dispatcher, events.append, "test.wav")


def silence(seconds):
    return np.zeros(int(16000 * seconds), np.int16)


def test_two_turns_in_one_stream():
    events, dispatcher = [], RecordingDispatcher()
    recognizer = FixedRecognizer("turn on the kitchen light", "turn on the kitchen light")
    pipe = make(FiringScorer(1000, 7000), ScriptedVad((1600, 2800), (7500, 8700)), recognizer, dispatcher, events)
    turns = pipe.run(frames(silence(12)))
    assert len(turns) == 2 and len(dispatcher.calls) == 2
    assert [t.utterance.ended_by for t in turns] == [EndReason.SILENCE, EndReason.SILENCE]
    kinds = [e["event"] for e in events]
    assert kinds == ["wake", "utterance", "transcript", "intents", "mqtt", "outcome", "result"] * 2
    result = [e for e in events if e["event"] == "result"][0]
    t = result["timings_ms"]
    assert result["status"] == "done" and t["hangover_ms"] == ListenerSettings().silence_hangover_ms
    assert t["speech_end_to_publish_ms"] >= t["hangover_ms"] + t["publish_ms"]
    # decoded once per turn, early (during the hangover), and that result was used
    assert len(recognizer.heard) == 2 and t["decode_started_into_hangover_ms"] == ListenerSettings().early_decode_ms


def test_a_background_to_suppress_starts_decoding_at_the_earlier_offer_once():
    """Suppression makes decoding slower, so it starts early_decode_noisy_ms into the hangover; the later
    offer in the same pause is not decoded again, and the latency counts from the earlier start."""
    events, dispatcher = [], RecordingDispatcher()
    recognizer = FixedRecognizer("turn on the kitchen light", noisy=True)
    pipe = make(FiringScorer(1000), ScriptedVad((1600, 2800)), recognizer, dispatcher, events)
    turns = pipe.run(frames(silence(6)))
    t = turns[0].timings_ms
    assert len(recognizer.heard) == 1 and dispatcher.calls
    assert t["decode_started_into_hangover_ms"] == ListenerSettings().early_decode_noisy_ms
    ready = max(t["hangover_ms"], t["decode_started_into_hangover_ms"] + t["transcribe_ms"])
    assert t["speech_end_to_publish_ms"] == pytest.approx(ready + t["intent_ms"] + t["publish_ms"], abs=0.2)


@pytest.mark.parametrize("noisy", [False, True])
def test_early_decode_off_for_quiet_rooms_still_starts_early_in_a_loud_one(noisy):
    """early_decode_ms 0 means decoding waits for the end of the hangover; the offer at
    early_decode_noisy_ms is taken only for audio whose background is to be suppressed."""
    events, dispatcher = [], RecordingDispatcher()
    recognizer = FixedRecognizer("turn on the kitchen light", noisy=noisy)
    listener = ListenerSettings(early_decode_ms=0)
    pipe = make(FiringScorer(1000), ScriptedVad((1600, 2800)), recognizer, dispatcher, events, listener)
    t = pipe.run(frames(silence(6)))[0].timings_ms
    assert len(recognizer.heard) == 1 and dispatcher.calls
    if noisy:
        assert t["decode_started_into_hangover_ms"] == listener.early_decode_noisy_ms
    else:
        assert "decode_started_into_hangover_ms" not in t


def test_timeout_publishes_nothing():
    events, dispatcher = [], RecordingDispatcher()
    pipe = make(FiringScorer(1000), ScriptedVad(), FixedRecognizer(), dispatcher, events)
    turns = pipe.run(frames(silence(8)))
    assert turns[0].utterance.ended_by is EndReason.NO_SPEECH and dispatcher.calls == []
    assert events[-1]["status"] == "timeout"


def test_rejected_and_unknown_speech_publish_nothing():
    events, dispatcher = [], RecordingDispatcher()
    recognizer = FixedRecognizer("", "open the pod bay doors")
    pipe = make(FiringScorer(1000, 7000), ScriptedVad((1600, 2800), (7500, 8700)), recognizer, dispatcher, events)
    turns = pipe.run(frames(silence(12)))
    assert [t.not_understood is not None for t in turns] == [True, True] and dispatcher.calls == []
    assert [e["status"] for e in events if e["event"] == "result"] == ["not_understood", "not_understood"]


def test_no_wake_word_nothing_happens():
    events, dispatcher = [], RecordingDispatcher()
    recognizer = FixedRecognizer()
    pipe = make(FiringScorer(), ScriptedVad((0, 10000)), recognizer, dispatcher, events)
    assert pipe.run(frames(silence(6))) == [] and events == [] and recognizer.heard == []


def test_command_cut_by_end_of_file_still_handled():
    events, dispatcher = [], RecordingDispatcher()
    pipe = make(FiringScorer(1000), ScriptedVad((1600, 5000)), FixedRecognizer("turn on the kitchen light"),
                dispatcher, events)
    turns = pipe.run(frames(silence(3)))
    assert turns[0].utterance.ended_by is EndReason.END_OF_AUDIO and len(dispatcher.calls) == 1


def test_dispatch_error_is_reported_not_raised():
    from assistant.errors import DeviceError

    def broken(intents):
        raise DeviceError("unknown device 'garage'")

    events = []
    pipe = make(FiringScorer(1000), ScriptedVad((1600, 2800)), FixedRecognizer("turn on the kitchen light"),
                broken, events)
    turns = pipe.run(frames(silence(5)))
    assert len(turns) == 1 and events[-1]["status"] == "failed" and "garage" in events[-1]["detail"]


PATIENT = ListenerSettings(incomplete_hangover_ms=1200)


def test_no_sentence_in_the_early_decode_waits_for_the_rest_of_the_command():
    """The VAD lost the last words (a loud room): the early decode of the speech so far fits no sentence, so
    the recording waits the longer hangover, hears the end, and the whole command is decoded once more."""
    events, dispatcher = [], RecordingDispatcher()
    recognizer = FixedRecognizer("", "turn on the kitchen light")
    # speech, 800 ms the VAD calls silence, then the rest of the command
    pipe = make(FiringScorer(1000), ScriptedVad((1600, 2400), (3200, 3600)), recognizer, dispatcher, events, PATIENT)
    turns = pipe.run(frames(silence(8)))
    assert len(turns) == 1 and turns[0].utterance.speech_end_ms == 3600
    assert len(dispatcher.calls) == 1 and turns[0].transcript.text == "turn on the kitchen light"
    # two decodes: the early one of the cut-short command (not used), then the early one of the whole
    # command in the ordinary pause after it, which covers more audio and ends the turn as usual
    assert len(recognizer.heard) == 2 and recognizer.heard[1] > recognizer.heard[0]
    assert turns[0].timings_ms["hangover_ms"] == ListenerSettings().silence_hangover_ms


class RejectingFirst(FixedRecognizer):
    """Hears the command, but rejects its first decode (as the fused engine rejects a misheard early one)."""

    def transcribe(self, pcm):
        first = not self.heard
        heard = super().transcribe(pcm)
        return Transcript(heard.text, 0.2, "fixed", rejected=True) if first else heard


def test_an_early_decode_that_heard_words_but_no_command_is_done_again_on_the_whole_recording():
    events, dispatcher = [], RecordingDispatcher()
    recognizer = RejectingFirst("turn on the kitchen light", "turn on the kitchen light")
    pipe = make(FiringScorer(1000), ScriptedVad((1600, 2800)), recognizer, dispatcher, events)
    turns = pipe.run(frames(silence(6)))
    assert len(turns) == 1 and len(dispatcher.calls) == 1 and not turns[0].transcript.rejected
    assert len(recognizer.heard) == 2 and recognizer.heard[1] > recognizer.heard[0]  # the whole recording
    assert "decode_started_into_hangover_ms" not in turns[0].timings_ms


def test_an_empty_noisy_early_decode_is_not_decoded_again_at_the_usual_point():
    """Loud background: the early decode at early_decode_noisy_ms fits no sentence, so the listener waits
    longer; its offer at early_decode_ms in the same pause is not decoded again."""
    events, dispatcher = [], RecordingDispatcher()
    recognizer = FixedRecognizer("", "turn on the kitchen light", noisy=True)
    pipe = make(FiringScorer(1000), ScriptedVad((1600, 2400), (3200, 3600)), recognizer, dispatcher, events, PATIENT)
    turns = pipe.run(frames(silence(8)))
    assert len(recognizer.heard) == 2 and turns[0].transcript.text == "turn on the kitchen light"
    assert turns[0].timings_ms["decode_started_into_hangover_ms"] == PATIENT.early_decode_noisy_ms


def test_an_incomplete_command_is_still_not_understood_after_the_longer_wait():
    events, dispatcher = [], RecordingDispatcher()
    recognizer = FixedRecognizer("", "")
    pipe = make(FiringScorer(1000), ScriptedVad((1600, 2400)), recognizer, dispatcher, events, PATIENT)
    turns = pipe.run(frames(silence(8)))
    assert len(turns) == 1 and not dispatcher.calls and turns[0].not_understood is not None
    assert turns[0].utterance.end_ms - turns[0].utterance.speech_end_ms == PATIENT.incomplete_hangover_ms


def test_with_the_longer_wait_off_an_empty_early_decode_ends_the_turn_as_before():
    events, dispatcher = [], RecordingDispatcher()
    recognizer = FixedRecognizer("")
    pipe = make(FiringScorer(1000), ScriptedVad((1600, 2400), (3200, 3600)), recognizer, dispatcher, events)
    turns = pipe.run(frames(silence(8)))
    assert ListenerSettings().incomplete_hangover_ms == 0
    assert len(turns) == 1 and turns[0].utterance.speech_end_ms == 2400 and len(recognizer.heard) == 1
    assert turns[0].utterance.end_ms == 2400 + ListenerSettings().silence_hangover_ms
