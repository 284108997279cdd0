"""WAV files written field by field, so each header is exactly what a fixture claims: the ordinary 16 kHz
clips, and the odd formats and broken files that the WAV reader's tests need."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
try:
    from scipy.signal import resample_poly
except ImportError:  # not part of the demo's setup: the audio-making scripts have an extra of their own
    raise SystemExit("wav_files: needs scipy (and, to make speech, the TTS voices): "
                     ".venv/bin/pip install -e '.[fixtures]'") from None

from voices import SR


def wav_bytes(samples: np.ndarray, rate: int = SR, tag: int = 1, bits: int = 16, channels: int = 1,
              extensible: bool = False, declared_bytes: int | None = None) -> bytes:
    """A RIFF/WAVE file written field by field so the header is exactly what the fixture claims."""
    body = samples.tobytes() if isinstance(samples, np.ndarray) else samples
    block = channels * bits // 8
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = struct.pack("<HHIIHHHHIH", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits,
                          (1 << channels) - 1, tag) + guid_tail
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    size = len(body) if declared_bytes is None else declared_bytes
    pad = b"\x00" if len(body) & 1 else b""
    riff_size = 4 + 8 + len(fmt) + 8 + size + len(pad)
    return (b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", size) + body + pad)


def save(path: Path, pcm: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav_bytes(pcm))


def write_bad_set(out: Path, pcm: np.ndarray, spans: list[tuple[float, float]]) -> list[dict]:
    """Broken files and valid odd formats of one spoken clip (`pcm`, speech at `spans`) into `out`; their
    label rows."""
    rows = []
    (out / "empty.wav").write_bytes(b"")
    (out / "text_file.wav").write_text("this is a text file with a .wav name, not audio\n")
    (out / "truncated.wav").write_bytes(wav_bytes(pcm[: SR // 2], declared_bytes=len(pcm) * 2))
    (out / "header_only.wav").write_bytes(wav_bytes(b""))
    (out / "mulaw.wav").write_bytes(wav_bytes(mulaw(pcm[::2]), rate=8000, tag=7, bits=8))
    for name, problem in (("empty.wav", "empty"), ("text_file.wav", "not_wav"), ("truncated.wav", "truncated"),
                          ("header_only.wav", "no_samples"), ("mulaw.wav", "unsupported_encoding")):
        rows.append({"file": name, "valid": False, "problem": problem, "format": None, "wake_word": None,
                     "speech_start_s": None, "speech_end_s": None})
    x = pcm / 32768.0
    rng = np.random.default_rng(7)
    stereo = np.stack([x, x * 0.8 + rng.standard_normal(len(x)) * 1e-3], axis=1)  # channels differ a little
    variants = [
        ("u8_8k_mono.wav", "8 kHz 8-bit unsigned mono", lambda: wav_bytes(
            np.round(resample_poly(x, 1, 2) * 127 + 128).clip(0, 255).astype(np.uint8), 8000, bits=8)),
        ("s24_44k_stereo.wav", "44.1 kHz 24-bit stereo", lambda: wav_bytes(
            pcm24(resample_poly(stereo, 441, 160, axis=0)), 44100, bits=24, channels=2)),
        ("f32_48k_stereo.wav", "48 kHz 32-bit float stereo", lambda: wav_bytes(
            resample_poly(stereo, 3, 1, axis=0).astype("<f4"), 48000, tag=3, bits=32, channels=2)),
        ("s32_22k_mono.wav", "22.05 kHz 32-bit int mono", lambda: wav_bytes(
            np.round(resample_poly(x, 441, 320).clip(-1, 1) * 2147483647).astype("<i4"), 22050, bits=32)),
        ("extensible_16k_mono.wav", "WAVE_FORMAT_EXTENSIBLE 16 kHz 16-bit mono", lambda: wav_bytes(
            pcm, SR, extensible=True)),
    ]
    for name, desc, make in variants:
        (out / name).write_bytes(make())
        rows.append({"file": name, "valid": True, "problem": None, "format": desc, "wake_word": "hey_jarvis",
                     "speech_start_s": spans[0][0], "speech_end_s": spans[0][1]})
    return rows


def pcm24(x: np.ndarray) -> bytes:
    ints = np.round(np.clip(x, -1, 1) * 8388607).astype("<i4").reshape(-1)
    return ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


def mulaw(pcm: np.ndarray) -> bytes:
    """G.711 mu-law bytes of int16 samples (a real encoding the reader should refuse by name)."""
    x = pcm.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    mag = np.minimum(np.abs(x), 32635) + 0x84
    exp = np.floor(np.log2(mag)).astype(np.int32) - 7
    mant = (mag >> (exp + 3)) & 0x0F
    return (~(sign | (exp << 4) | mant) & 0xFF).astype(np.uint8).tobytes()
