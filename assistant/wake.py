"""Wake-word detection policy: threshold, consecutive frames, refractory period, warm-up after reset.

Pure and synchronous: scripted WakeScores in, WakeDetected out. All times are audio time (ms).
"""

from __future__ import annotations

import heapq
import logging
import math
from collections import deque

import numpy as np

from .config import WakeSettings
from .messages import WakeDetected, WakeScores

log = logging.getLogger(__name__)
FLOOR_WINDOW_FRAMES = 62  # the background floor is judged over the last ~5 s of audio
FLOOR_PERCENTILE = 10  # its quietest tenth: pauses between words, not the words


WAKE_SPAN_MS = 800  # the wake word's audio: this much before the first frame over the threshold (its end)


def wake_snr_db(word_dbfs: list[float], background_dbfs: float | None) -> float | None:
    """How far the wake word stood above the background, in dB: the power mean of its frames' levels over
    the background floor. None when either is unknown (the stream had only just started)."""
    if not word_dbfs or background_dbfs is None:
        return None
    power = float(np.mean(np.power(10.0, np.asarray(word_dbfs) / 10)))
    return round(10 * math.log10(power) - background_dbfs, 1)


def level_dbfs(pcm: bytes) -> float:
    """RMS level of 16-bit PCM in dB relative to full scale (-120 for digital silence)."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    rms = math.sqrt(float(np.dot(x, x)) / len(x)) if len(x) else 0.0
    return 20 * math.log10(rms / 32768.0) if rms > 0 else -120.0


class WakePolicy:
    def __init__(self, settings: WakeSettings):
        self.settings = settings
        self._run: dict[str, int] = {}  # consecutive frames at/above threshold, per wake word
        self._run_peak: dict[str, float] = {}
        self._run_onset: dict[str, int] = {}
        self._ignore_until_ms = settings.warmup_ms
        self._refractory_until_ms = -1
        self._levels: deque[float] = deque(maxlen=FLOOR_WINDOW_FRAMES)

    def background_dbfs(self) -> float | None:
        """The recent background floor, or None before any level was heard."""
        if not self._levels:
            return None
        return heapq.nsmallest(max(1, len(self._levels) * FLOOR_PERCENTILE // 100), self._levels)[-1]

    def threshold(self) -> float:
        """The threshold for the next frame: `threshold` in a quiet room, sliding to `noisy_threshold`."""
        s = self.settings
        floor = self.background_dbfs()
        if floor is None or s.noisy_threshold >= s.threshold or floor <= s.quiet_floor_dbfs:
            return s.threshold
        span = max(s.noisy_floor_dbfs - s.quiet_floor_dbfs, 1e-6)
        share = min(1.0, (floor - s.quiet_floor_dbfs) / span)
        return s.threshold - share * (s.threshold - s.noisy_threshold)

    def reset(self, at_ms: int) -> None:
        """The model was reset at `at_ms` (audio time): its scores are unreliable for warmup_ms."""
        self._run.clear()
        self._run_peak.clear()
        self._levels.clear()  # a new stream: the last one's background says nothing about this one
        self._ignore_until_ms = at_ms + self.settings.warmup_ms
        self._refractory_until_ms = -1

    def suppress_until(self, until_ms: int) -> None:
        """Ignore everything until `until_ms` (e.g. while a command is being recorded)."""
        self._refractory_until_ms = max(self._refractory_until_ms, until_ms)

    def feed(self, scores: WakeScores, level_dbfs: float | None = None) -> WakeDetected | None:
        """One frame's scores (and, for the noise-adaptive threshold, the frame's level_dbfs)."""
        s = self.settings
        t = scores.end_ms
        threshold = self.threshold()  # judged on the audio before this frame
        if level_dbfs is not None:
            self._levels.append(level_dbfs)
        if t <= self._ignore_until_ms or t <= self._refractory_until_ms:
            self._run.clear()
            self._run_peak.clear()
            return None
        best: WakeDetected | None = None
        for name, score in scores.scores.items():
            if score >= threshold:
                if not self._run.get(name):
                    self._run_onset[name] = t
                self._run[name] = self._run.get(name, 0) + 1
                self._run_peak[name] = max(self._run_peak.get(name, 0.0), score)
            else:
                self._run[name] = 0
                self._run_peak[name] = 0.0
                continue
            if self._run[name] >= s.trigger_frames:
                candidate = WakeDetected(name, t, self._run_peak[name], self._run_onset[name])
                if best is None or candidate.score > best.score:
                    best = candidate
        if best is not None:
            log.info("wake word %s at %d ms (score %.3f, threshold %.2f)", best.wake_word, t, best.score, threshold)
            self._refractory_until_ms = t + s.refractory_ms
            self._run.clear()
            self._run_peak.clear()
        return best
