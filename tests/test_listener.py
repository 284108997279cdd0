"""The listener state machine with a scripted VAD: all timing in audio milliseconds."""

import pytest

from assistant.config import ListenerSettings
from assistant.listener import Listener, State
from assistant.messages import FRAME_MS, AudioFrame, EndReason, SpeechPaused, Utterance, WakeDetected


class ScriptedVad:
    """Speech wherever the frame's start time falls in one of the given [start, end) ms ranges."""

    def __init__(self, *speech_ranges):
        self.ranges = speech_ranges
        self.resets = 0

    def reset(self):
        self.resets += 1

    def probability(self, frame):
        return 0.9 if any(a <= frame.start_ms < b for a, b in self.ranges) else 0.05


def frame_at(ms):
    # its start time in the first 4 bytes, then a steady low hum: no gap between words to be seen, so the
    # listener places the command's start by the wake model's onset frame and the look-back
    return AudioFrame(ms.to_bytes(4, "little") + b"\x10\x00" * 1278, ms)


def drive(listener, wake_ms, until_ms, onset_ms=None):
    """Feed audio from 0 ms as the pipeline does: idle frames first, then the frame the wake word was detected
    in (the frame that ends at wake_ms), then the rest."""
    for ms in range(0, wake_ms - FRAME_MS, FRAME_MS):
        assert listener.hear(frame_at(ms)) is None
    out = listener.hear(frame_at(wake_ms - FRAME_MS), WakeDetected("hey_jarvis", wake_ms, 0.9, onset_ms))
    if out is not None:
        return out
    for ms in range(wake_ms, until_ms, FRAME_MS):
        out = listener.hear(frame_at(ms))
        if isinstance(out, Utterance):
            return out
    return listener.end_of_audio(until_ms)


SETTINGS = ListenerSettings(preroll_ms=240, silence_hangover_ms=400, no_speech_timeout_ms=4000,
                            max_command_ms=8000, lookback_ms=240)


def starts(utterance):
    pcm = utterance.pcm
    return [int.from_bytes(pcm[i:i + 4], "little") for i in range(0, len(pcm), 2560)]


def test_command_after_pause_ends_on_silence_with_preroll():
    vad = ScriptedVad((2000, 3200))
    listener = Listener(SETTINGS, vad)
    u = drive(listener, 1040, 10000)
    assert u.ended_by is EndReason.SILENCE
    assert u.speech_end_ms == 3200
    assert u.end_ms == 3600  # 400 ms hangover after the last speech frame
    assert starts(u)[0] == 2000 - 240  # three frames of pre-roll before speech onset
    assert listener.state is State.PROCESSING and vad.resets == 1


def test_wake_word_tail_before_a_pause_never_enters_the_command():
    # the wake word ends at ~960 ms (first confident frame), detection at 1040, a pause, then the command
    listener = Listener(SETTINGS, ScriptedVad((400, 1040), (1600, 2800)))
    u = drive(listener, 1040, 10000, onset_ms=960)
    assert u.ended_by is EndReason.SILENCE
    assert starts(u)[0] == 1600 - 240  # pre-roll reaches back into the pause, not into the wake word


def test_one_breath_command_keeps_its_first_word():
    # no pause: speech runs on from the wake word; the command began just before the model was sure
    listener = Listener(SETTINGS, ScriptedVad((400, 2800)))
    u = drive(listener, 1040, 10000, onset_ms=960)
    assert u.ended_by is EndReason.SILENCE
    assert starts(u)[0] == 960 - 240  # the look-back before the onset frame is kept
    assert starts(u)[-1] >= 2800 and u.end_ms == 3200


def test_no_speech_times_out():
    listener = Listener(SETTINGS, ScriptedVad())
    u = drive(listener, 1000, 20000)
    assert u.ended_by is EndReason.NO_SPEECH and u.pcm == b""
    assert 4000 <= u.end_ms - (1000 - 240) < 4000 + FRAME_MS  # counted from where recording began


def test_single_noise_frame_does_not_start_a_command():
    listener = Listener(SETTINGS, ScriptedVad((2000, 2080)))
    assert drive(listener, 1000, 20000).ended_by is EndReason.NO_SPEECH


def test_a_short_blip_after_the_wake_word_is_not_the_command():
    # In a loud room the VAD hears the wake word's tail as 160 ms of speech; the command comes 0.8 s later.
    listener = Listener(SETTINGS, ScriptedVad((400, 1040), (1040, 1200), (2000, 3200)))
    u = drive(listener, 1040, 10000, onset_ms=960)
    assert u.ended_by is EndReason.SILENCE
    assert starts(u)[0] == 2000 - 240 and starts(u) == list(range(1760, u.end_ms, FRAME_MS))  # no gaps
    assert u.end_ms == 3200 + 400


def test_a_lone_blip_times_out_as_no_speech():
    listener = Listener(SETTINGS, ScriptedVad((2000, 2160)))
    u = drive(listener, 1040, 20000)
    assert u.ended_by is EndReason.NO_SPEECH and u.pcm == b""


def test_speech_just_long_enough_is_a_command():
    listener = Listener(SETTINGS, ScriptedVad((2000, 2320)))  # 320 ms: a short "stop it"
    u = drive(listener, 1040, 20000)
    assert u.ended_by is EndReason.SILENCE and starts(u)[0] == 2000 - 240


def test_max_length_cuts_endless_speech():
    listener = Listener(SETTINGS, ScriptedVad((1200, 100000)))
    u = drive(listener, 1000, 30000)
    assert u.ended_by is EndReason.MAX_LENGTH
    assert 8000 <= u.end_ms - starts(u)[0] < 8000 + FRAME_MS


def test_end_of_audio_mid_command():
    listener = Listener(SETTINGS, ScriptedVad((1500, 5000)))
    u = drive(listener, 1000, 3000)
    assert u.ended_by is EndReason.END_OF_AUDIO and len(u.pcm) > 0


def test_frames_ignored_while_idle_or_processing_then_resume():
    listener = Listener(SETTINGS, ScriptedVad((0, 100000)))
    assert listener.hear(frame_at(0)) is None and listener.state is State.IDLE
    drive(listener, 1000, 30000)
    assert listener.state is State.PROCESSING
    assert listener.hear(frame_at(40000)) is None
    listener.resume(40000)
    assert listener.state is State.IDLE


def test_early_decode_offered_once_per_pause_with_the_audio_so_far():
    settings = ListenerSettings(preroll_ms=240, silence_hangover_ms=320, early_decode_ms=240,
                                early_decode_noisy_ms=0, lookback_ms=0)
    listener = Listener(settings, ScriptedVad((1600, 2000), (2160, 2800)))  # a 160 ms pause inside
    listener.hear(frame_at(960), WakeDetected("hey_jarvis", 1040, 0.9, 1040))  # the frame the wake word ends in
    events = [(ms, listener.hear(frame_at(ms))) for ms in range(1040, 4000, FRAME_MS)]
    paused = [(ms, e) for ms, e in events if isinstance(e, SpeechPaused)]
    done = [e for _, e in events if isinstance(e, Utterance)]
    # the short pause (160 ms) never reaches 240 ms; after the last word, one offer at 240 ms of silence
    assert len(paused) == 1 and paused[0][1].speech_end_ms == 2800 and paused[0][1].end_ms == 3040
    assert done[0].speech_end_ms == 2800 and done[0].end_ms == 3120
    assert done[0].pcm.startswith(paused[0][1].pcm)


def test_a_pause_is_offered_at_the_noisy_point_too_each_point_once():
    """early_decode_noisy_ms (for a loud background, where decoding is slower) adds an earlier offer to every
    pause: the 160 ms pause inside the command gets that one, the last pause both."""
    settings = ListenerSettings(preroll_ms=240, silence_hangover_ms=320, early_decode_ms=240,
                                early_decode_noisy_ms=80, lookback_ms=0)
    listener = Listener(settings, ScriptedVad((1600, 2000), (2160, 2800)))
    listener.hear(frame_at(960), WakeDetected("hey_jarvis", 1040, 0.9, 1040))  # the frame the wake word ends in
    events = [listener.hear(frame_at(ms)) for ms in range(1040, 4000, FRAME_MS)]
    offers = [(e.speech_end_ms, e.end_ms - e.speech_end_ms, e.noisy_only) for e in events if isinstance(e, SpeechPaused)]
    assert offers == [(2000, 80, True), (2800, 80, True), (2800, 240, False)]
    done = [e for e in events if isinstance(e, Utterance)]
    assert done[0].speech_end_ms == 2800 and done[0].end_ms == 3120


@pytest.mark.parametrize("noisy_ms,usual_ms,expected", [
    (240, 240, [(240, False)]), (300, 240, [(240, False)]),  # the noisy point adds nothing at or after the usual
    (160, 0, [(160, True)]),  # quiet rooms wait for the end; only the noisy offer is made
    (0, 0, []),
])
def test_offer_points_when_they_coincide_or_one_is_off(noisy_ms, usual_ms, expected):
    settings = ListenerSettings(preroll_ms=240, silence_hangover_ms=320, early_decode_ms=usual_ms,
                                early_decode_noisy_ms=noisy_ms, lookback_ms=0)
    listener = Listener(settings, ScriptedVad((1600, 2800)))
    listener.hear(frame_at(960), WakeDetected("hey_jarvis", 1040, 0.9, 1040))  # the frame the wake word ends in
    events = [listener.hear(frame_at(ms)) for ms in range(1040, 4000, FRAME_MS)]
    offers = [(e.end_ms - e.speech_end_ms, e.noisy_only) for e in events if isinstance(e, SpeechPaused)]
    assert offers == expected
    assert [e.end_ms for e in events if isinstance(e, Utterance)] == [2800 + 320]


def test_a_pause_after_no_complete_command_runs_to_the_longer_hangover():
    """The early decode found no sentence in the speech so far: that pause ends the recording only after
    incomplete_hangover_ms. Speech heard in it (the quiet last words) counts, and the next pause is an
    ordinary one again."""
    settings = ListenerSettings(preroll_ms=240, silence_hangover_ms=320, early_decode_ms=240,
                                early_decode_noisy_ms=0, lookback_ms=0, incomplete_hangover_ms=1200)
    listener = Listener(settings, ScriptedVad((1600, 2400), (3200, 3600)))  # 800 ms of silence inside
    listener.hear(frame_at(960), WakeDetected("hey_jarvis", 1040, 0.9, 1040))  # the frame the wake word ends in
    done, offers = None, []
    for ms in range(1040, 8000, FRAME_MS):
        event = listener.hear(frame_at(ms))
        if isinstance(event, SpeechPaused):
            offers.append(event)
            if len(offers) == 1:  # what was said before the long pause is not a command
                listener.extend_pause(event)
        if isinstance(event, Utterance):
            done = event
            break
    assert [o.speech_end_ms for o in offers] == [2400, 3600]
    assert done.ended_by is EndReason.SILENCE and done.speech_end_ms == 3600
    assert done.end_ms == 3600 + 320  # the second pause followed a complete command: the usual hangover


def test_an_incomplete_command_followed_by_silence_ends_after_the_longer_hangover():
    settings = ListenerSettings(preroll_ms=240, silence_hangover_ms=320, early_decode_ms=240,
                                early_decode_noisy_ms=0, lookback_ms=0, incomplete_hangover_ms=1200)
    listener = Listener(settings, ScriptedVad((1600, 2400)))
    listener.hear(frame_at(960), WakeDetected("hey_jarvis", 1040, 0.9, 1040))  # the frame the wake word ends in
    for ms in range(1040, 8000, FRAME_MS):
        event = listener.hear(frame_at(ms))
        if isinstance(event, SpeechPaused):
            listener.extend_pause(event)
        if isinstance(event, Utterance):
            break
    assert event.ended_by is EndReason.SILENCE and event.end_ms == 2400 + 1200
