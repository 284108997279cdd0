"""The listening half of the loop: each frame scored for the wake word, judged while the listener is idle,
and handed to the listener once. The single-microphone pipeline and a satellite both hear through it, so a
satellite wakes and ends commands exactly as the one-process loop does.

Pure and synchronous (the scorer and the VAD are handed in); times are audio milliseconds. A wake comes out
with the speech-to-noise ratio of the wake word itself, which the hub uses to tell which of several
satellites heard one person best.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import replace

from .interfaces import WakeRecheck, WakeScorer
from .listener import Listener, State
from .messages import FRAME_MS, AudioFrame, SpeechPaused, Utterance, WakeCandidate, WakeDetected
from .wake import WAKE_SPAN_MS, WakePolicy, level_dbfs, wake_snr_db

FLOOR_MS = 3000  # the background before a wake word is judged over this much audio
FLOOR_PERCENTILE = 10  # its quietest tenth: the pauses, not the words
# The audio a second look hears: this much before the unsure run's peak (the whole wake phrase, said
# slowly) to a little after it.
RECHECK_BEFORE_MS = 1800
RECHECK_AFTER_MS = 100


class Ears:
    def __init__(self, scorer: WakeScorer, policy: WakePolicy, listener: Listener,
                 recheck: WakeRecheck | None = None):
        """recheck: scores a wake word's phrase against audio, for the runs the model was unsure of (the
        policy must have been made with recheck=True to ask)."""
        self.scorer = scorer
        self.policy = policy
        self.listener = listener
        self.recheck = recheck
        self._levels: deque[tuple[int, float]] = deque(maxlen=FLOOR_MS // FRAME_MS)  # (end_ms, dBFS)
        self._recent: deque[AudioFrame] = deque(maxlen=(RECHECK_BEFORE_MS + 1000) // FRAME_MS)

    def hear(self, frame: AudioFrame) -> tuple[WakeDetected | None, Utterance | SpeechPaused | None]:
        """One frame -> (the wake word if it was detected in it, what the listener made of it)."""
        scores = self.scorer.score(frame)  # always, so the model's audio context stays continuous
        level = level_dbfs(frame.pcm)
        self._levels.append((frame.end_ms, level))
        self._recent.append(frame)
        woke = None
        listener = self.listener
        if listener.state is State.IDLE or (listener.following and listener.state is State.RECORDING):
            woke = self.policy.feed(scores, level)
            if isinstance(woke, WakeCandidate):
                woke = self._second_look(woke, frame.end_ms)
            if woke is not None:
                woke = replace(woke, snr_db=self.snr_db(woke))
                if listener.state is not State.IDLE:  # the wake word, said in a follow-up window: a new command
                    listener.resume(frame.start_ms)
        return woke, listener.hear(frame, woke)

    def _second_look(self, candidate: WakeCandidate, now_ms: int) -> WakeDetected | None:
        if self.recheck is None:
            return None
        start, end = candidate.peak_ms - RECHECK_BEFORE_MS, candidate.peak_ms + RECHECK_AFTER_MS
        pcm = b"".join(f.pcm for f in self._recent if f.end_ms > start and f.start_ms < end)
        return self.policy.confirm(candidate, self.recheck(candidate.wake_word, pcm), now_ms)

    def snr_db(self, wake: WakeDetected) -> float | None:
        """The wake word's level over the background: the word is the WAKE_SPAN_MS up to its onset frame,
        the background the quietest tenth of the audio before the word."""
        end = wake.onset_ms if wake.onset_ms is not None else wake.time_ms
        word = [db for t, db in self._levels if end - WAKE_SPAN_MS < t <= end]
        before = [db for t, db in self._levels if t <= end - WAKE_SPAN_MS]
        if len(before) < 3:  # the stream began with the wake word: the pauses inside it are all there is
            before = [db for t, db in self._levels if t <= end]
        floor = heapq.nsmallest(max(1, len(before) * FLOOR_PERCENTILE // 100), before)[-1] if before else None
        return wake_snr_db(word, floor)
