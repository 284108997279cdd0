"""Wake-word detection policy: threshold, consecutive frames, refractory period, warm-up after reset.

Pure and synchronous: scripted WakeScores in, WakeDetected out. All times are audio time (ms).
"""

from __future__ import annotations

import logging

from .config import WakeSettings
from .messages import WakeDetected, WakeScores

log = logging.getLogger(__name__)


class WakePolicy:
    def __init__(self, settings: WakeSettings):
        self.settings = settings
        self._run: dict[str, int] = {}  # consecutive frames at/above threshold, per wake word
        self._run_peak: dict[str, float] = {}
        self._run_onset: dict[str, int] = {}
        self._ignore_until_ms = settings.warmup_ms
        self._refractory_until_ms = -1

    def reset(self, at_ms: int) -> None:
        """The model was reset at `at_ms` (audio time): its scores are unreliable for warmup_ms."""
        self._run.clear()
        self._run_peak.clear()
        self._ignore_until_ms = at_ms + self.settings.warmup_ms
        self._refractory_until_ms = -1

    def suppress_until(self, until_ms: int) -> None:
        """Ignore everything until `until_ms` (e.g. while a command is being recorded)."""
        self._refractory_until_ms = max(self._refractory_until_ms, until_ms)

    def feed(self, scores: WakeScores) -> WakeDetected | None:
        s = self.settings
        t = scores.end_ms
        if t <= self._ignore_until_ms or t <= self._refractory_until_ms:
            self._run.clear()
            self._run_peak.clear()
            return None
        best: WakeDetected | None = None
        for name, score in scores.scores.items():
            if score >= s.threshold:
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
            log.info("wake word %s at %d ms (score %.3f)", best.wake_word, t, best.score)
            self._refractory_until_ms = t + s.refractory_ms
            self._run.clear()
            self._run_peak.clear()
        return best
