"""Signal levels the recognizer, the evaluation and the fixture scripts share: pink noise, the RMS of
the speech in a clip, and how loud and how steady its background is."""

from __future__ import annotations

import numpy as np

from .messages import SAMPLE_RATE


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
