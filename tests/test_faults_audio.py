"""Audio faults: a microphone that cannot be opened, vanishes mid-stream, or comes back under a new index.

A tiny hand-written sound card stands in for sounddevice (the pattern of tests/test_microphone.py);
the behaviour under test is MicSource's: one warning per retry, a clear one-line AudioError at the end,
never another exception, and frames that continue where they left off after a successful reopen.
"""

from __future__ import annotations

import logging
import sys
import types

import numpy as np
import pytest

from assistant.errors import AudioError
from assistant.messages import FRAME_SAMPLES


class PortAudioError(Exception):
    """What sounddevice raises; its message carries PortAudio's text and code."""


class FakeCard:
    """A sound card whose microphone can be unplugged and replugged (under another index) by the test."""

    def __init__(self, mic_index=0, fail_opens=0):
        self.mic_index = mic_index  # None: unplugged
        self.fail_opens = fail_opens
        self.feeds: list[list[np.ndarray]] = []  # blocks for each successfully started stream, in order
        self.opened: list[int | None] = []
        self.rescans = 0

    def module(self) -> types.ModuleType:
        card = self
        sd = types.ModuleType("sounddevice")
        sd.default = types.SimpleNamespace(device=(0, 0))
        sd.PortAudioError = PortAudioError

        def query_devices():
            out = [{"name": "Speakers", "max_input_channels": 0, "default_samplerate": 48000}] * 4
            if card.mic_index is not None:
                out[card.mic_index] = {"name": "Fake USB Mic", "max_input_channels": 1, "default_samplerate": 16000}
            return out

        def rescan():
            card.rescans += 1

        class InputStream:
            def __init__(self, samplerate, channels, dtype, device, blocksize, callback):
                if card.fail_opens > 0 or card.mic_index is None or device != card.mic_index:
                    card.fail_opens -= 1
                    raise PortAudioError("Error opening InputStream: Device unavailable [PaErrorCode -9985]")
                self.callback, self.device = callback, device

            def start(self):
                card.opened.append(self.device)
                for block in card.feeds.pop(0) if card.feeds else []:
                    self.callback(block.reshape(-1, 1), len(block), None, None)

            def stop(self):
                if card.mic_index is None:
                    raise PortAudioError("Error stopping stream: Unanticipated host error [PaErrorCode -9999]")

            def close(self):
                pass

        sd.query_devices, sd._terminate, sd._initialize, sd.InputStream = query_devices, rescan, lambda: None, InputStream
        return sd


def blocks(seconds: float, seed: int) -> list[np.ndarray]:
    audio = (np.random.default_rng(seed).standard_normal(int(16000 * seconds)) * 1000).astype(np.int16)
    return [audio[i:i + FRAME_SAMPLES] for i in range(0, len(audio), FRAME_SAMPLES)]


@pytest.fixture
def card(monkeypatch):
    card = FakeCard()
    monkeypatch.setitem(sys.modules, "sounddevice", card.module())
    return card


def consume(mic, limit=1000):
    got = []
    try:
        for frame in mic:
            got.append(frame)
            if len(got) >= limit:
                break
    except AudioError as exc:
        return got, exc
    return got, None


def test_device_busy_at_start_is_retried_then_works(card, caplog):
    from assistant.adapters.microphone import MicSource

    card.fail_opens = 4  # each attempt tries 16 kHz, then the device's own rate: two attempts fail
    card.feeds = [blocks(1.0, 1)]
    mic = MicSource("usb", stall_timeout_s=0.01, retries=2)
    with caplog.at_level(logging.WARNING):
        frames, error = consume(mic, limit=12)
    assert error is None and len(frames) == 12
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2 and "Device unavailable" in retries[0] and "(1/2)" in retries[0]
    assert card.rescans == 2  # looked for the device again before each retry


def test_device_missing_at_start_is_one_clear_line_after_the_retries(card, caplog):
    from assistant.adapters.microphone import MicSource

    mic = MicSource("usb", stall_timeout_s=0.01, retries=2)
    card.mic_index = None  # unplugged between choosing it and opening it
    with caplog.at_level(logging.WARNING):
        frames, error = consume(mic)
    assert frames == [] and isinstance(error, AudioError)
    text = str(error)
    assert "\n" not in text and "no audio input matches 'usb'" in text and "tried 3 times" in text
    assert len([r for r in caplog.records if "retrying" in r.getMessage()]) == 2


def test_device_unplugged_mid_stream_ends_with_a_clear_error_not_a_crash(card, caplog):
    from assistant.adapters.microphone import MicSource

    card.feeds = [blocks(0.8, 2)]
    mic = MicSource("usb", stall_timeout_s=0.02, retries=2)
    mic.open()
    card.mic_index = None  # gone: the stream stops calling back and stop() raises a PortAudio error
    with caplog.at_level(logging.WARNING):
        frames, error = consume(mic)
    assert len(frames) == 10  # everything it delivered before it vanished
    assert isinstance(error, AudioError) and "delivered no audio" in str(error) and "\n" not in str(error)
    assert mic.reopened == 2
    assert any("no audio input matches 'usb'" in r.getMessage() for r in caplog.records)


def test_device_replugged_under_a_new_index_is_found_and_frames_continue(card):
    from assistant.adapters.microphone import MicSource

    card.feeds = [blocks(0.8, 3), blocks(0.8, 4)]
    mic = MicSource("usb", stall_timeout_s=0.02, retries=2)
    mic.open()
    card.mic_index = 3  # unplugged and plugged into another port while the first stream runs dry
    frames, error = consume(mic, limit=20)
    assert error is None and len(frames) == 20
    assert card.opened == [0, 3] and mic.reopened == 1
    assert [f.start_ms for f in frames] == [i * 80 for i in range(20)]  # one continuous audio clock
