"""The microphone as an iterator of 80 ms AudioFrames (sounddevice callback -> queue -> frames).

It yields exactly what a WavSource yields, so the live path and the file path are the same code.
"""

from __future__ import annotations

import logging
import queue
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..audio import Reframer, Resampler
from ..errors import AudioError
from ..messages import SAMPLE_RATE, AudioFrame

log = logging.getLogger(__name__)
BLOCK_MS = 80


def _sounddevice():
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library missing
        raise AudioError(f"audio input unavailable: {exc}; install libportaudio2 (scripts/setup.sh does)") from None
    except ImportError:
        raise AudioError("sounddevice is not installed; run scripts/setup.sh") from None
    return sd


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    channels: int
    default_rate: int
    is_default: bool


def list_inputs() -> list[InputDevice]:
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        default_in = sd.default.device[0] if sd.default.device else -1
    except Exception as exc:  # PortAudio errors are not a stable type
        raise AudioError(f"cannot list audio devices: {exc}") from None
    return [InputDevice(i, d["name"], d["max_input_channels"], int(d["default_samplerate"]), i == default_in)
            for i, d in enumerate(devices) if d["max_input_channels"] > 0]


def pick_input(spec: str | int | None) -> InputDevice | None:
    """None = system default; an integer = device index; text = first input whose name contains it."""
    if spec is None:
        return None
    inputs = list_inputs()
    text = str(spec)
    if text.isdigit():
        match = next((d for d in inputs if d.index == int(text)), None)
    else:
        match = next((d for d in inputs if text.lower() in d.name.lower()), None)
    if match is None:
        names = "; ".join(f"{d.index}: {d.name}" for d in inputs) or "none found"
        raise AudioError(f"no audio input matches {text!r} (inputs: {names}); see 'assistant mics'")
    return match


class MicSource:
    """Live audio frames. Counts input overflows. A device that cannot be opened, or stops delivering
    (unplugged, taken by another program, sound server restarted), is looked up again by name and
    reopened up to `retries` times, `stall_timeout_s` apart, with one warning line each; then AudioError."""

    def __init__(self, device: str | int | None = None, stall_timeout_s: float = 2.0, retries: int = 2):
        self._sd = _sounddevice()
        self._spec = device
        self._device = pick_input(device)
        self._queue: "queue.Queue[bytes | None]" = queue.Queue(maxsize=200)
        self._stall_timeout_s = stall_timeout_s
        self.retries = retries
        self.overflows = 0
        self.dropped_blocks = 0
        self.reopened = 0
        self._rate = SAMPLE_RATE
        self._stream = None

    def _callback(self, indata, frames, time_info, status) -> None:  # runs on PortAudio's thread
        if status and status.input_overflow:
            self.overflows += 1
        try:
            self._queue.put_nowait(bytes(indata))
        except queue.Full:
            self.dropped_blocks += 1

    def open(self) -> None:
        index = self._device.index if self._device else None
        for rate in (SAMPLE_RATE, self._device.default_rate if self._device else None):
            if rate is None:
                continue
            try:
                self._stream = self._sd.InputStream(
                    samplerate=rate, channels=1, dtype="int16", device=index,
                    blocksize=rate * BLOCK_MS // 1000, callback=self._callback)
                self._stream.start()
                self._rate = rate
                log.info("microphone open: %s at %d Hz", self._device.name if self._device else "default", rate)
                return
            except Exception as exc:  # PortAudioError; try the device's own rate next
                last = exc
        raise AudioError(f"cannot open microphone {self._device.name if self._device else '(default)'}: {last}")

    def _rescan(self) -> None:
        """PortAudio lists devices once per initialisation: a replugged USB microphone comes back under a
        new index only after a re-initialisation. Then find ours again by the name we were given."""
        terminate, initialize = getattr(self._sd, "_terminate", None), getattr(self._sd, "_initialize", None)
        if terminate is not None and initialize is not None:
            try:
                terminate()
                initialize()
            except Exception as exc:  # PortAudioError; the old list is still better than none
                log.debug("PortAudio re-initialisation failed: %s", exc)
        self._device = pick_input(self._spec)

    def _open_with_retries(self) -> None:
        for attempt in range(self.retries + 1):
            try:
                if attempt:
                    self._rescan()
                self.open()
                return
            except AudioError as exc:
                if attempt == self.retries:
                    raise AudioError(f"{exc} (tried {attempt + 1} times; is it plugged in and not used by "
                                     "another program? see 'assistant mics')") from None
                log.warning("%s; retrying in %g s (%d/%d)", exc, self._stall_timeout_s, attempt + 1, self.retries)
                time.sleep(self._stall_timeout_s)

    def _drop_stream(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:  # the stream may already be gone with its device; that must not mask why
                pass
            self._stream = None

    def _reopen(self) -> None:
        self.reopened += 1
        self._drop_stream()
        try:
            self._rescan()
            self.open()
        except AudioError as exc:
            log.warning("%s", exc)

    def close(self) -> None:
        if self._stream is not None:
            self._drop_stream()
            self._queue.put_nowait(None) if not self._queue.full() else None

    def __iter__(self) -> Iterator[AudioFrame]:
        if self._stream is None:
            self._open_with_retries()
        reframer = Reframer()
        resampler: Resampler | None = None
        stalls = 0
        try:
            while True:
                try:
                    block = self._queue.get(timeout=self._stall_timeout_s)
                    stalls = 0
                except queue.Empty:
                    # A stalled stream (device unplugged, sound server restarted, or a sleepy virtual
                    # source) often comes back when reopened; give up only after a few tries.
                    stalls += 1
                    if stalls > self.retries:
                        raise AudioError(f"microphone delivered no audio for {self._stall_timeout_s:.0f} s "
                                         f"after {self.retries} reopen(s) (unplugged or in use by another "
                                         "program?)") from None
                    log.warning("microphone silent for %.0f s; reopening (%d/%d)", self._stall_timeout_s,
                                stalls, self.retries)
                    self._reopen()
                    continue
                if block is None:
                    return
                if self._rate != SAMPLE_RATE:
                    if resampler is None or resampler.rate != self._rate:
                        resampler = Resampler(self._rate)
                    samples = np.frombuffer(block, np.int16).astype(np.float32) / 32768.0
                    block = resampler.push(samples).tobytes()
                yield from reframer.push(block)
        finally:
            self.close()
