"""Mix noise into a clip at a chosen SNR, reproducibly (one seed per clip and condition).

SNR is the RMS of the clip's active speech (10 ms frames within 35 dB of its loudest frame) over the RMS
of the noise, which covers the whole clip. The noise is generated pink noise, or a slice of a noise WAV
starting at a seeded offset (looped when shorter than the clip).
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..audio import read_wav
from ..levels import active_rms, pink
from ..errors import AudioError


@lru_cache(maxsize=4)
def _noise_file(path: str) -> np.ndarray:
    samples = read_wav(path).astype(np.float64) / 32768.0
    if not np.any(samples):
        raise AudioError(f"{path}: the noise file is silent; give a recording of noise")
    return samples


def clip_seed(seed: int, name: str) -> int:
    """A seed per clip that does not depend on the order clips are evaluated in."""
    return zlib.crc32(f"{seed}:{name}".encode())


def mix(samples: np.ndarray, snr_db: float, seed: int, noise: str = "pink") -> np.ndarray:
    """int16 clip + noise at snr_db -> int16 clip (clipped, not rescaled)."""
    x = samples.astype(np.float64) / 32768.0
    rng = np.random.default_rng(seed)
    if noise == "pink":
        n = pink(len(x), rng)
    else:
        source = _noise_file(str(Path(noise)))
        start = int(rng.integers(0, len(source)))
        n = np.resize(np.roll(source, -start), len(x))
        n = n / (np.sqrt(np.mean(n ** 2)) or 1.0)
    level = active_rms(x) / 10 ** (snr_db / 20)
    y = x + n * level
    return np.clip(np.round(y * 32767), -32768, 32767).astype(np.int16)
