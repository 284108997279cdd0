"""WAV reading and conversion to 16 kHz mono int16, and cutting audio into 80 ms frames.

The reader parses RIFF chunks itself so it accepts every PCM flavour people have (8/16/24/32-bit int,
32-bit float, WAVE_FORMAT_EXTENSIBLE) and reports anything else as one clear line. It reads a file a
block at a time, so replaying an hour-long recording needs no more memory than a short one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .errors import AudioError
from .messages import FRAME_SAMPLES, SAMPLE_RATE, AudioFrame

_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
_FORMAT_NAMES = {0x0002: "MS ADPCM", 0x0006: "A-law", 0x0007: "mu-law", 0x0011: "IMA ADPCM", 0x0055: "MP3"}
MIN_RATE, MAX_RATE = 8000, 48000


BLOCK_S = 10  # a long file is read, converted and framed this many seconds at a time


@dataclass(frozen=True)
class WavFormat:
    """What a WAV header says, and where its samples are."""
    tag: int
    channels: int
    rate: int
    bits: int
    offset: int  # of the first sample in the file
    frames: int  # sample frames (one sample per channel)

    @property
    def frame_bytes(self) -> int:
        return self.bits // 8 * self.channels


def _open(path: Path):
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AudioError(f"{path}: is a folder, not a WAV file") from None
    except OSError as exc:
        raise AudioError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _chunks(f, path: Path) -> dict[bytes, tuple[int, int]]:
    """Chunk id -> (offset of its body, size), by seeking: the samples themselves are not read."""
    size_on_disk = f.seek(0, 2)
    f.seek(0)
    head = f.read(12)
    if len(head) < 12:
        raise AudioError(f"{path}: empty or too short to be a WAV file ({len(head)} bytes)")
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioError(f"{path}: not a WAV file (no RIFF/WAVE header)")
    chunks: dict[bytes, tuple[int, int]] = {}
    pos = 12
    while pos + 8 <= size_on_disk:
        f.seek(pos)
        cid, size = struct.unpack("<4sI", f.read(8))
        held = max(0, min(size, size_on_disk - pos - 8))
        if cid == b"data" and held < size:
            # Truncated recordings are common (a recorder killed mid-write). Keep what is there only if
            # the header did not promise far more than we have: that is a broken file, say so.
            raise AudioError(f"{path}: truncated WAV: data chunk promises {size} bytes, file holds {held}")
        chunks.setdefault(cid, (pos + 8, held))
        pos += 8 + size + (size & 1)
    return chunks


def wav_format(f, path: Path) -> WavFormat:
    """Read and check a WAV header. Raises AudioError naming the file and what to do."""
    chunks = _chunks(f, path)
    fmt_at, fmt_size = chunks.get(b"fmt ", (0, 0))
    f.seek(fmt_at)
    fmt = f.read(min(fmt_size, 64))
    if len(fmt) < 16:
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
    if b"data" not in chunks:
        raise AudioError(f"{path}: WAV has no data chunk")
    data_at, data_size = chunks[b"data"]
    n = data_size // (bits // 8 * channels)
    if n == 0:
        raise AudioError(f"{path}: WAV holds no audio samples")
    return WavFormat(tag, channels, rate, bits, data_at, n)


def _decode(body: bytes, fmt: WavFormat, path: Path) -> np.ndarray:
    """Return float32 samples in [-1, 1], shape (frames, channels)."""
    bits = fmt.bits
    if fmt.tag == _FLOAT:
        x = np.frombuffer(body, "<f4" if bits == 32 else "<f8").astype(np.float32)
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
    else:
        x = np.frombuffer(body, "<i4").astype(np.float32) / 2147483648.0
    return x.reshape(-1, fmt.channels)


def _to_int16(mono: np.ndarray) -> np.ndarray:
    return np.clip(np.round(mono * 32767.0), -32768, 32767).astype(np.int16)


class Resampler:
    """Any rate -> 16 kHz, fed in blocks of any size, with the same output as resampling it all at once.

    Resampling each block on its own would treat its edges as silence and put a dip at every block
    boundary (a click every 80 ms from a 48 kHz sound card). libsoxr's stream keeps its filter's state
    from block to block, so the blocks join sample for sample into the whole-file conversion; the output
    is held back by the filter's delay (about 12 ms) until the next block or `last`."""

    def __init__(self, rate: int):
        self.rate = rate
        self._stream = None
        if rate != SAMPLE_RATE:
            try:
                import soxr
            except ImportError:
                raise AudioError(f"audio at {rate} Hz needs resampling to {SAMPLE_RATE} Hz, and the soxr package "
                                 "is missing; run scripts/setup.sh") from None
            self._stream = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")

    def push(self, mono: np.ndarray, last: bool = False) -> np.ndarray:
        """float32 mono samples in; int16 16 kHz samples out (everything, once `last` is set)."""
        if self._stream is None:
            return _to_int16(mono)
        return _to_int16(self._stream.resample_chunk(np.ascontiguousarray(mono, np.float32), last=last))


def wav_blocks(path: Path | str, block_s: float | None = None) -> Iterator[np.ndarray]:
    """A WAV file as consecutive blocks of 16 kHz mono int16, reading block_s seconds at a time: memory
    stays that of one block whatever the file's length, and the blocks join into exactly what converting
    the whole file at once gives."""
    path = Path(path)
    with _open(path) as f:
        fmt = wav_format(f, path)
        resampler = Resampler(fmt.rate)
        step = max(1, int((block_s or BLOCK_S) * fmt.rate))
        f.seek(fmt.offset)
        for start in range(0, fmt.frames, step):
            want = min(step, fmt.frames - start) * fmt.frame_bytes
            body = f.read(want)
            if len(body) < want:
                raise AudioError(f"{path}: the file shrank while it was being read")
            out = resampler.push(_decode(body, fmt, path).mean(axis=1), last=start + step >= fmt.frames)
            if len(out):
                yield out


def read_wav(path: Path | str) -> np.ndarray:
    """Read any PCM/float WAV and return 16 kHz mono int16 samples. Raises AudioError naming the file."""
    return np.concatenate(list(wav_blocks(path)))


def pcm_problem(rate: int, width: int, channels: int) -> str | None:
    """Why raw little-endian signed PCM of this shape cannot be converted here, or None when it can."""
    if width not in (2, 3, 4):
        return f"{width * 8}-bit samples are not supported; send 16, 24 or 32-bit signed PCM"
    if not 1 <= channels <= 8:
        return f"{channels} channels are not supported; send 1 to 8"
    if not MIN_RATE <= rate <= MAX_RATE:
        return f"sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz"
    return None


def pcm_to_16k(pcm: bytes, rate: int, width: int, channels: int) -> np.ndarray:
    """Raw signed PCM (a network stream's whole utterance) -> 16 kHz mono int16, as read_wav converts
    a file. Raises AudioError when pcm_problem() names one, or the bytes do not fill whole samples."""
    problem = pcm_problem(rate, width, channels)
    if problem is None and len(pcm) % (width * channels):
        problem = f"{len(pcm)} bytes are not whole {width * 8}-bit samples of {channels} channel(s)"
    if problem is not None:
        raise AudioError(f"audio: {problem}")
    fmt = WavFormat(_PCM, channels, rate, width * 8, 0, len(pcm) // (width * channels))
    return Resampler(rate).push(_decode(pcm, fmt, Path("audio")).mean(axis=1), last=True)


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
    """A WAV file as an iterator of AudioFrames: the same interface as the microphone.

    The header is checked here, so a broken file is reported before anything runs; the samples are read
    as the frames are taken, so a recording of hours costs no more memory than one of seconds."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        with _open(self.path) as f:
            self.format = wav_format(f, self.path)

    @property
    def duration_s(self) -> float:
        return self.format.frames / self.format.rate

    def __iter__(self) -> Iterator[AudioFrame]:
        pending = np.zeros(0, np.int16)
        start_ms = 0
        for block in wav_blocks(self.path):
            pending = np.concatenate([pending, block])
            whole = len(pending) // FRAME_SAMPLES * FRAME_SAMPLES
            yield from frames(pending[:whole], start_ms)
            start_ms += whole * 1000 // SAMPLE_RATE
            pending = pending[whole:]
        if len(pending):
            yield from frames(pending, start_ms)


def pcm_of(frames_: Iterable[AudioFrame]) -> bytes:
    return b"".join(f.pcm for f in frames_)


def write_wav(path: Path | str, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype=np.int16).tobytes())


class WholeUtterance:
    """The streaming form of a recognizer that decodes whole utterances: accept() keeps the audio as it
    arrives, finish() decodes everything kept since the last finish() with the class's transcribe()."""

    _stream: list[bytes] | None = None

    def accept(self, pcm: bytes) -> None:
        """Feed audio as it arrives; nothing is decided until finish()."""
        if self._stream is None:
            self._stream = []
        self._stream.append(pcm)

    def finish(self):
        pcm, self._stream = b"".join(self._stream or []), None
        return self.transcribe(pcm)  # type: ignore[attr-defined]

