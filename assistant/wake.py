"""Wake-word detection policy: threshold, consecutive frames, refractory period, warm-up after reset.

Pure and synchronous: scripted WakeScores in, WakeDetected out. All times are audio time (ms).
"""

from __future__ import annotations

import heapq
import logging
import math
import re
from collections import deque
from dataclasses import dataclass

import numpy as np

from .config import WakeSettings
from .messages import SAMPLE_RATE, WakeCandidate, WakeDetected, WakeScores

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


# An unsure run is over after this long under recheck_threshold; one still going this long after its peak is
# judged anyway. Both keep a rechecked wake word within the listener's history (HISTORY_MS) of its peak.
RECHECK_GAP_MS = 320
RECHECK_AFTER_PEAK_MS = 560


@dataclass
class _UnsureRun:
    peak: float
    peak_ms: int  # end of the frame with the peak
    last_ms: int  # end of the last frame at or above recheck_threshold
    judged: bool = False  # handed out as a candidate (or reached the threshold): once per run


def wake_phrase(name: str) -> str:
    """What a wake word's model listens for, written as a recognizer would: 'hey_jarvis' -> 'Hey Jarvis.'
    (a custom model's file stem, its version dropped: 'hey_computer_v0.2' -> 'Hey Computer.')."""
    words = [w for w in re.split(r"[\s_\-]+", name) if w and not re.fullmatch(r"v?\d+(\.\d+)*", w)]
    return " ".join(w.capitalize() for w in words) + "."


class WakePolicy:
    def __init__(self, settings: WakeSettings, recheck: bool = False):
        """recheck: a second look is available (hearing.Ears), so unsure runs come out as WakeCandidates."""
        self.settings = settings
        self.recheck = recheck and settings.recheck_threshold > 0
        self._run: dict[str, int] = {}  # consecutive frames at/above threshold, per wake word
        self._run_peak: dict[str, float] = {}
        self._run_onset: dict[str, int] = {}
        self._unsure: dict[str, _UnsureRun] = {}  # per wake word
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
        self._unsure.clear()
        self._levels.clear()  # a new stream: the last one's background says nothing about this one
        self._ignore_until_ms = at_ms + self.settings.warmup_ms
        self._refractory_until_ms = -1

    def suppress_until(self, until_ms: int) -> None:
        """Ignore everything until `until_ms` (e.g. while a command is being recorded)."""
        self._refractory_until_ms = max(self._refractory_until_ms, until_ms)

    def feed(self, scores: WakeScores, level_dbfs: float | None = None) -> WakeDetected | WakeCandidate | None:
        """One frame's scores (and, for the noise-adaptive threshold, the frame's level_dbfs). With recheck,
        a run that reached recheck_threshold and ended (or went on RECHECK_AFTER_PEAK_MS past its peak)
        without a detection comes out as a WakeCandidate, once. Never before the run is over: a score still
        to rise may yet reach the threshold, and that detection marks the word's end better."""
        s = self.settings
        t = scores.end_ms
        threshold = self.threshold()  # judged on the audio before this frame
        if level_dbfs is not None:
            self._levels.append(level_dbfs)
        if t <= self._ignore_until_ms or t <= self._refractory_until_ms:
            self._run.clear()
            self._run_peak.clear()
            self._unsure.clear()
            return None
        best: WakeDetected | None = None
        unsure = self._unsure_runs(scores, threshold) if self.recheck else None
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
            self._unsure.clear()
            return best
        return unsure

    def _unsure_runs(self, scores: WakeScores, threshold: float) -> WakeCandidate | None:
        """Follow the runs at or above recheck_threshold (gaps under RECHECK_GAP_MS inside one: "hey" and
        "jarvis" may score apart); the most likely of those just judged over."""
        t, done = scores.end_ms, []
        for name, score in scores.scores.items():
            run = self._unsure.get(name)
            if score >= self.settings.recheck_threshold:
                run = run or _UnsureRun(score, t, t)
                if score > run.peak:
                    run.peak, run.peak_ms = score, t
                run.last_ms = t
                self._unsure[name] = run
            if run is None:
                continue
            if t - run.last_ms >= RECHECK_GAP_MS:
                del self._unsure[name]
            elif run.judged or t - run.peak_ms < RECHECK_AFTER_PEAK_MS:
                continue
            if not run.judged:
                run.judged = True
                if run.peak < threshold:  # a run that reached the threshold is the threshold's to judge
                    done.append((name, run))
        if not done:
            return None
        name, run = max(done, key=lambda item: item[1].peak)
        return WakeCandidate(name, t, run.peak, run.peak_ms)

    def confirm(self, candidate: WakeCandidate, support: float, at_ms: int) -> WakeDetected | None:
        """The second look's verdict on a candidate: `support` is how well the wake phrase explains the audio
        (the recognizer's mean log-probability per token). At or above recheck_support it is a detection,
        with the refractory period a detection starts."""
        ok = support >= self.settings.recheck_support
        log.info("wake word %s unsure at %d ms (score %.3f): second look %.2f, %s", candidate.wake_word,
                 candidate.peak_ms, candidate.score, support, "accepted" if ok else "rejected")
        if not ok:
            return None
        self._refractory_until_ms = at_ms + self.settings.refractory_ms
        self._run.clear()
        self._run_peak.clear()
        self._unsure.clear()
        return WakeDetected(candidate.wake_word, at_ms, candidate.score, candidate.peak_ms, recheck=round(support, 3))


# Where the wake word ends. The model's first confident frame lands anywhere from ~150 ms before the word's
# end (some speakers' "alexa") to ~400 ms after it (slow espeak voices); a pause around it shows the end.
HOP_MS = 10
GAP_OVER_FLOOR_DB = 10.0  # a 10 ms hop this close to the quiet floor is part of a gap
CONTRAST_DB = 20.0  # speech must stand this far over the floor for gaps to mean anything
PAUSE_MS = 120  # a gap this long is a pause, not a stop consonant inside the word ("ale[k]sa")


def wake_word_end(pcm: bytes, start_ms: int, onset_ms: int, before_ms: int, after_ms: int) -> int | None:
    """The audio time at which the wake word ended, or None when the audio shows no pause after it.

    `pcm` starts at `start_ms` and covers the wake word, [onset_ms - before_ms, onset_ms + after_ms] (onset_ms
    is the end of the model's first frame over the threshold) and PAUSE_MS beyond. Gaps touching that span
    are measured whole. The pause nearest the onset (a gap of PAUSE_MS, or one running on to the end of the
    audio) begins where the word ended. Without a pause (a command in one breath) the answer is None: a
    short gap near the onset is as often a stop inside the command's first word ("jarvis se[t] the", the
    model sure just after it) as the space between the words ("jarvis | turn", the model sure just before
    it), and the two cannot be told apart by level or length. None too where a background noise fills the
    gaps (the quiet floor is the 10th percentile of the whole audio's 10 ms hops)."""
    hop = SAMPLE_RATE * HOP_MS // 1000
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    n = len(x) // hop
    if n < 2:
        return None
    db = 10 * np.log10(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1.0)
    floor, loud = np.percentile(db, FLOOR_PERCENTILE), np.percentile(db, 90)
    if loud - floor < CONTRAST_DB:
        return None
    quiet = np.concatenate([[False], db <= floor + GAP_OVER_FLOOR_DB, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    lo, hi = (onset_ms - before_ms - start_ms) // HOP_MS, (onset_ms + after_ms - start_ms) // HOP_MS
    runs = [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b > lo and a <= hi]  # [a, b) in hops
    if not runs:
        return None
    at = (onset_ms - start_ms) / HOP_MS

    def distance(run: tuple[int, int]) -> float:
        return max(run[0] - at, at - run[1], 0)

    pauses = [r for r in runs if (r[1] - r[0]) * HOP_MS >= PAUSE_MS or r[1] == n]
    if not pauses:
        return None
    return start_ms + int(min(pauses, key=distance)[0]) * HOP_MS
