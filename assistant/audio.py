"""WAV reading and conversion to 16 kHz mono int16, cutting audio into 80 ms frames, and the two level
helpers the recognizer and the evaluation share (active speech RMS, pink noise).

The reader parses RIFF chunks itself so it accepts every PCM flavour people have (8/16/24/32-bit int,
32-bit float, WAVE_FORMAT_EXTENSIBLE) and reports anything else as one clear line.
"""

from __future__ import annotations

import struct
from math import gcd
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .errors import AudioError
from .messages import FRAME_SAMPLES, SAMPLE_RATE, AudioFrame

_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
_FORMAT_NAMES = {0x0002: "MS ADPCM", 0x0006: "A-law", 0x0007: "mu-law", 0x0011: "IMA ADPCM", 0x0055: "MP3"}
MIN_RATE, MAX_RATE = 8000, 48000


def _chunks(data: bytes, path: Path) -> dict[bytes, bytes]:
    if len(data) < 12:
        raise AudioError(f"{path}: empty or too short to be a WAV file ({len(data)} bytes)")
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError(f"{path}: not a WAV file (no RIFF/WAVE header)")
    chunks: dict[bytes, bytes] = {}
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"data" and len(body) < size:
            # Truncated recordings are common (a recorder killed mid-write). Keep what is there only if
            # the header did not promise far more than we have: that is a broken file, say so.
            raise AudioError(f"{path}: truncated WAV: data chunk promises {size} bytes, file holds {len(body)}")
        chunks.setdefault(cid, body)
        pos += 8 + size + (size & 1)
    return chunks


def _decode(body: bytes, fmt_tag: int, bits: int, channels: int, path: Path) -> np.ndarray:
    """Return float32 samples in [-1, 1], shape (frames, channels)."""
    width = bits // 8
    usable = len(body) - len(body) % (width * channels)
    body = body[:usable]
    if fmt_tag == _FLOAT:
        if bits == 32:
            x = np.frombuffer(body, "<f4").astype(np.float32)
        elif bits == 64:
            x = np.frombuffer(body, "<f8").astype(np.float32)
        else:
            raise AudioError(f"{path}: unsupported float WAV with {bits}-bit samples; use 32-bit float")
        x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
    elif bits == 8:
        x = (np.frombuffer(body, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif bits == 16:
        x = np.frombuffer(body, "<i2").astype(np.float32) / 32768.0
    elif bits == 24:
        raw = np.frombuffer(body, np.uint8).reshape(-1, 3).astype(np.int32)
        ints = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        ints = np.where(ints & 0x800000, ints - 0x1000000, ints)
        x = ints.astype(np.float32) / 8388608.0
    elif bits == 32:
        x = np.frombuffer(body, "<i4").astype(np.float32) / 2147483648.0
    else:
        raise AudioError(f"{path}: unsupported sample size {bits} bits; use 8, 16, 24 or 32-bit PCM")
    return x.reshape(-1, channels)


def convert(samples: np.ndarray, rate: int) -> np.ndarray:
    """float32 (frames, channels) at `rate` -> int16 mono at 16 kHz."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    if rate != SAMPLE_RATE and len(mono):
        from scipy.signal import resample_poly

        g = gcd(rate, SAMPLE_RATE)
        mono = resample_poly(mono, SAMPLE_RATE // g, rate // g).astype(np.float32)
    return np.clip(np.round(mono * 32767.0), -32768, 32767).astype(np.int16)


def read_wav(path: Path | str) -> np.ndarray:
    """Read any PCM/float WAV and return 16 kHz mono int16 samples. Raises AudioError naming the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AudioError(f"{path}: is a folder, not a WAV file") from None
    except OSError as exc:
        raise AudioError(f"{path}: cannot read ({exc.strerror or exc})") from None
    chunks = _chunks(data, path)
    fmt = chunks.get(b"fmt ")
    if fmt is None or len(fmt) < 16:
        raise AudioError(f"{path}: WAV has no valid 'fmt ' chunk")
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _EXTENSIBLE:
        if len(fmt) < 40:
            raise AudioError(f"{path}: WAVE_FORMAT_EXTENSIBLE header is too short")
        tag = struct.unpack_from("<H", fmt, 24)[0]  # first two bytes of the sub-format GUID
    if tag not in (_PCM, _FLOAT):
        name = _FORMAT_NAMES.get(tag, f"format tag {tag:#06x}")
        raise AudioError(f"{path}: unsupported encoding {name}; convert to PCM (e.g. sox in.wav -e signed -b 16 out.wav)")
    if (tag == _PCM and bits not in (8, 16, 24, 32)) or (tag == _FLOAT and bits not in (32, 64)):
        raise AudioError(f"{path}: unsupported sample size {bits} bits; use 8, 16, 24 or 32-bit PCM or 32-bit float")
    if not 1 <= channels <= 8:
        raise AudioError(f"{path}: unsupported channel count {channels}")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"{path}: sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    body = chunks.get(b"data")
    if body is None:
        raise AudioError(f"{path}: WAV has no data chunk")
    if len(body) < (bits // 8 or 1) * channels:
        raise AudioError(f"{path}: WAV holds no audio samples")
    return convert(_decode(body, tag, bits, channels, path), rate)


def frames(samples: np.ndarray | bytes, start_ms: int = 0) -> Iterator[AudioFrame]:
    """Cut 16 kHz int16 audio into 80 ms frames; a short last frame is padded with zeros."""
    pcm = samples.tobytes() if isinstance(samples, np.ndarray) else samples
    step = FRAME_SAMPLES * 2
    frame_ms = FRAME_SAMPLES * 1000 // SAMPLE_RATE
    for i, pos in enumerate(range(0, len(pcm), step)):
        chunk = pcm[pos:pos + step]
        if len(chunk) < step:
            chunk = chunk + bytes(step - len(chunk))
        yield AudioFrame(chunk, start_ms + i * frame_ms)


class Reframer:
    """Turns arbitrary-sized blocks of int16 PCM (e.g. from a sound card) into exact 80 ms AudioFrames."""

    def __init__(self) -> None:
        self._pending = b""
        self._next_ms = 0

    def push(self, pcm: bytes) -> list[AudioFrame]:
        self._pending += pcm
        step = FRAME_SAMPLES * 2
        out = []
        while len(self._pending) >= step:
            out.append(AudioFrame(self._pending[:step], self._next_ms))
            self._pending = self._pending[step:]
            self._next_ms += FRAME_SAMPLES * 1000 // SAMPLE_RATE
        return out


class WavSource:
    """A WAV file as an iterator of AudioFrames: the same interface as the microphone."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.samples = read_wav(self.path)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    def __iter__(self) -> Iterator[AudioFrame]:
        return frames(self.samples)


def pcm_of(frames_: Iterable[AudioFrame]) -> bytes:
    return b"".join(f.pcm for f in frames_)


def write_wav(path: Path | str, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype=np.int16).tobytes())


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink (1/f power) noise: white noise shaped in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum[1:] /= np.sqrt(f[1:])
    spectrum[0] = 0
    y = np.fft.irfft(spectrum, n)
    return y / np.sqrt(np.mean(y ** 2))


def active_rms(x: np.ndarray, hop: int = SAMPLE_RATE // 100, range_db: float = 35.0) -> float:
    """RMS over the frames within range_db of the loudest frame (the speech, not the pauses)."""
    n = max(1, len(x) // hop)
    f = np.pad(x, (0, max(0, n * hop - len(x))))[: n * hop].reshape(n, hop)
    power = np.mean(f ** 2, axis=1)
    db = 10 * np.log10(power + 1e-20)
    return float(np.sqrt(np.mean(power[db > db.max() - range_db])))


def background(samples: np.ndarray) -> tuple[float, float]:
    """(speech-to-background ratio in dB, unsteadiness of the background in dB) of one int16 clip.

    The background is the quietest 30 % of its 20 ms frames; unsteadiness is the median, over 250 Hz
    bands from 250 Hz to 6 kHz, of how much each band's level varies across those frames. A fan or hum is
    about 2.5-3.5 dB (chance alone); voices or music behind the command are 5 dB and up."""
    hop = SAMPLE_RATE // 50
    x = np.asarray(samples, np.float64) / 32768.0
    n = len(x) // hop
    if n < 20:
        return float("inf"), float("inf")  # too short to tell speech from background
    f = x[: n * hop].reshape(n, hop)
    level = 10 * np.log10(np.mean(f ** 2, axis=1) + 1e-12)
    floor, quiet_cut = np.percentile(level, [10, 30])
    snr = 20 * np.log10(active_rms(x) + 1e-12) - floor
    quiet = f[level <= quiet_cut]
    power = np.abs(np.fft.rfft(quiet * np.hanning(hop), axis=1)) ** 2  # 50 Hz bins
    bands = 10 * np.log10(power[:, 5:120].reshape(len(quiet), -1, 5).mean(axis=2) + 1e-20)
    return float(snr), float(np.median(bands.std(axis=0)))
