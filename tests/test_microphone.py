"""The microphone path: the adapter's interface with a tiny fake sound card, and sounddevice's real
stream fed through a PulseAudio null sink (a virtual microphone) where PulseAudio is installed."""

import os
import shutil
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from assistant.audio import frames
from assistant.errors import AudioError

ROOT = Path(__file__).resolve().parent.parent


class FakeStatus:
    def __init__(self, overflow):
        self.input_overflow = overflow

    def __bool__(self):
        return self.input_overflow


def fake_sounddevice(blocks, overflow_at=()):
    """A sounddevice stand-in whose stream calls back with the given int16 blocks, then goes quiet."""
    module = types.ModuleType("sounddevice")
    module.default = types.SimpleNamespace(device=(0, 0))
    module.query_devices = lambda: [{"name": "Fake USB Mic", "max_input_channels": 1, "default_samplerate": 16000},
                                    {"name": "Speakers", "max_input_channels": 0, "default_samplerate": 48000}]

    pending = list(blocks)  # delivered by the first stream only; a reopened stream stays silent

    class InputStream:
        def __init__(self, samplerate, channels, dtype, device, blocksize, callback):
            assert samplerate == 16000 and channels == 1 and dtype == "int16"
            self.callback = callback

        def start(self):
            todo = list(pending)
            pending.clear()
            for i, block in enumerate(todo):
                self.callback(block.reshape(-1, 1), len(block), None, FakeStatus(i in overflow_at))

        def stop(self):
            pass

        def close(self):
            pass

    module.InputStream = InputStream
    return module


def test_mic_yields_the_same_frames_as_a_file(monkeypatch):
    audio = (np.random.default_rng(3).standard_normal(16000 * 2) * 2000).astype(np.int16)
    blocks = [audio[i:i + 1000] for i in range(0, len(audio), 1000)]
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(blocks, overflow_at={3, 7}))
    from assistant.adapters.microphone import MicSource, list_inputs

    assert [d.name for d in list_inputs()] == ["Fake USB Mic"]
    mic = MicSource("usb", stall_timeout_s=0.2)
    got = []
    with pytest.raises(AudioError, match="no audio for"):  # the fake card goes silent: a clear error
        for frame in mic:
            got.append(frame)
    want = list(frames(audio))[: len(got)]
    assert len(got) == len(audio) // 1280
    assert [(f.pcm, f.start_ms) for f in got] == [(f.pcm, f.start_ms) for f in want]
    assert mic.overflows == 2
    assert mic.reopened == 2  # it retried before giving up


def test_unknown_input_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice([]))
    from assistant.adapters.microphone import MicSource

    with pytest.raises(AudioError, match="no audio input matches 'studio'.*Fake USB Mic"):
        MicSource("studio")


@pytest.fixture
def virtual_mic(tmp_path):
    """A PulseAudio server with a null sink; its monitor is the default source the 'pulse' ALSA device reads."""
    if not shutil.which("pulseaudio") or not shutil.which("paplay"):
        pytest.skip("pulseaudio not installed (scripts/setup.sh --test installs it)")
    runtime = tmp_path / "xdg"
    runtime.mkdir()
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), PULSE_RUNTIME_PATH=str(runtime / "pulse"))
    server = subprocess.Popen(
        ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "-n", "--log-level=error",
         "--load=module-native-protocol-unix", "--load=module-null-sink sink_name=vsink"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(50):
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    else:
        server.kill()
        pytest.skip(f"pulseaudio did not start: {server.stderr.read(500)!r}")
    # both defaults are needed: with no default sink the monitor source never delivers audio
    subprocess.run(["pactl", "set-default-sink", "vsink"], env=env, check=True)
    subprocess.run(["pactl", "set-default-source", "vsink.monitor"], env=env, check=True)
    old = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH")}
    os.environ.update(XDG_RUNTIME_DIR=env["XDG_RUNTIME_DIR"], PULSE_RUNTIME_PATH=env["PULSE_RUNTIME_PATH"])
    try:
        yield env
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.kill()
        server.wait()


@pytest.mark.models
def test_real_sounddevice_stream_detects_wake_word(virtual_mic, tmp_path):
    """PortAudio's real stream, fed by playing a WAV into the virtual sink, reaches wake detection."""
    sample = ROOT / "assistant" / "samples" / "hey_jarvis.wav"
    if not sample.exists():
        pytest.skip("sample WAV missing")
    code = f"""
import subprocess, json
from pathlib import Path
from assistant.adapters.microphone import MicSource
from assistant.adapters.openwakeword import OpenWakeWordScorer, resolve_wake_words
from assistant.config import WakeSettings
from assistant.wake import WakePolicy
models = Path({str(ROOT / 'models')!r})
scorer = OpenWakeWordScorer(resolve_wake_words(['hey_jarvis'], models), models)
policy = WakePolicy(WakeSettings()); policy.reset(-scorer.prime_ms)
mic = MicSource('pulse')
frames = iter(mic)
next(frames)  # the stream is live (a sleepy virtual source may need a reopen first): now play
player = subprocess.Popen(['paplay', '-d', 'vsink', {str(sample)!r}])
hit = None
for i, frame in enumerate(frames):
    hit = policy.feed(scorer.score(frame))
    if hit or i > 150:
        break
player.wait()
print(json.dumps({{'hit': hit.wake_word if hit else None, 'overflows': mic.overflows}}))
"""
    out = subprocess.run([sys.executable, "-c", code], env=virtual_mic, capture_output=True, text=True, timeout=60)
    if "cannot open microphone" in out.stderr:
        pytest.skip(f"PortAudio has no 'pulse' device (install libasound2-plugins): {out.stderr[-200:]}")
    assert out.returncode == 0, out.stderr
    assert '"hit": "hey_jarvis"' in out.stdout
