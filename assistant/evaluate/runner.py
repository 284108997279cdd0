"""Stream every clip of a dataset through the real pipeline, one fresh pipeline per clip, and keep what
each turn did plus the per-clip peak wake scores and per-frame stage costs.

The scorer and the VAD are wrapped in small recording proxies (same interface, so the pipeline is
unchanged): the scorer proxy keeps each clip's peak score per wake word outside the warm-up window, and
both time every call.
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import dataclass, field
from typing import Any

from ..audio import frames, read_wav
from ..errors import AudioError
from ..messages import SAMPLE_RATE, AudioFrame, EndReason, Interaction, WakeScores
from .dataset import Clip, Condition
from .noise import clip_seed, mix

log = logging.getLogger(__name__)


class RecordingScorer:
    """The assistant's wake scorer, plus each clip's peak score per wake word and the time per frame."""

    def __init__(self, scorer: Any, warmup_ms: int):
        self._scorer = scorer
        self._warmup_ms = warmup_ms
        self._ignore_until_ms = 0
        self.peaks: dict[str, float] = {}
        self.frame_ms: list[float] = []

    def reset(self) -> int:
        primed_ms = self._scorer.reset()
        self._ignore_until_ms = self._warmup_ms - primed_ms  # the same window the wake policy ignores
        self.peaks = {}
        return primed_ms

    def score(self, frame: AudioFrame) -> WakeScores:
        start = time.perf_counter()
        scores = self._scorer.score(frame)
        self.frame_ms.append((time.perf_counter() - start) * 1000)
        if scores.end_ms > self._ignore_until_ms:
            for name, value in scores.scores.items():
                if value > self.peaks.get(name, -1.0):
                    self.peaks[name] = value
        return scores

    def __getattr__(self, name: str) -> Any:
        return getattr(self._scorer, name)


class TimedVad:
    """The listener's VAD, timing every call."""

    def __init__(self, vad: Any):
        self._vad = vad
        self.frame_ms: list[float] = []

    def reset(self) -> None:
        self._vad.reset()

    def probability(self, frame: AudioFrame) -> float:
        start = time.perf_counter()
        p = self._vad.probability(frame)
        self.frame_ms.append((time.perf_counter() - start) * 1000)
        return p

    def __getattr__(self, name: str) -> Any:
        return getattr(self._vad, name)


@dataclass(frozen=True)
class TurnResult:
    wake_word: str | None
    wake_time_s: float | None
    wake_score: float | None
    ended_by: str | None
    transcript: str | None
    intents: tuple[dict, ...]
    messages: tuple[tuple[str, str], ...]
    understood: bool
    reason: str | None
    timings_ms: dict


@dataclass(frozen=True)
class ClipResult:
    clip: Clip
    condition: str
    audio_s: float
    peaks: dict
    turns: tuple[TurnResult, ...]

    @property
    def transcript(self) -> str | None:
        """The first transcript the clip produced (a command clip should hold one turn)."""
        return next((t.transcript for t in self.turns if t.transcript is not None), None)

    @property
    def intents(self) -> list[dict]:
        return [i for t in self.turns for i in t.intents]

    @property
    def messages(self) -> list[tuple[str, str]]:
        return [m for t in self.turns for m in t.messages]

    def to_json(self) -> dict:
        return {"file": self.clip.file, "kind": self.clip.kind, "voice": self.clip.voice, "condition": self.condition,
                "audio_s": round(self.audio_s, 3), "peak_scores": {k: round(v, 4) for k, v in self.peaks.items()},
                "expected": {"wake_word": self.clip.wake_word, "transcript": self.clip.transcript,
                             "intents": list(self.clip.intents),
                             "messages": [{"topic": m.topic, "payload": m.payload} for m in self.clip.messages]},
                "turns": [{"wake_word": t.wake_word, "wake_time_s": t.wake_time_s, "wake_score": t.wake_score,
                           "ended_by": t.ended_by, "transcript": t.transcript, "intents": list(t.intents),
                           "messages": [{"topic": m[0], "payload": m[1]} for m in t.messages],
                           "understood": t.understood, "reason": t.reason} for t in self.turns]}


@dataclass(frozen=True)
class SkippedClip:
    """A clip whose WAV could not be read: left out of every figure, and counted as left out."""

    file: str
    error: str


@dataclass
class ConditionRun:
    condition: Condition
    results: list[ClipResult] = field(default_factory=list)
    skipped: list[SkippedClip] = field(default_factory=list)
    wake_frame_ms: list[float] = field(default_factory=list)
    vad_frame_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    engine: str = ""
    load_s: float = 0.0
    peak_rss_mb: float = 0.0

    @property
    def audio_s(self) -> float:
        return sum(r.audio_s for r in self.results)


def instrument(assistant: Any) -> tuple[RecordingScorer, TimedVad]:
    """Wrap the assistant's scorer and VAD (once) so every pipeline it makes records through them."""
    if not isinstance(assistant.scorer, RecordingScorer):
        assistant.scorer = RecordingScorer(assistant.scorer, assistant.settings.wake.warmup_ms)
    if not isinstance(assistant.vad, TimedVad):
        assistant.vad = TimedVad(assistant.vad)
    return assistant.scorer, assistant.vad


def _turn(turn: Interaction) -> TurnResult:
    wake, u, t = turn.wake, turn.utterance, turn.transcript
    return TurnResult(
        wake.wake_word if wake else None, wake.time_ms / 1000 if wake else None,
        round(wake.score, 4) if wake else None, u.ended_by.value if u else None,
        t.text if t is not None and u is not None and u.ended_by is not EndReason.NO_SPEECH else None,
        tuple(i.to_json() for i in turn.intents), tuple((m.topic, m.payload) for m in turn.messages),
        turn.not_understood is None and bool(turn.intents),
        turn.not_understood.reason if turn.not_understood else None, dict(turn.timings_ms))


def clip_samples(clip: Clip, condition: Condition):
    samples = read_wav(clip.path)
    if condition.snr_db is None:
        return samples
    return mix(samples, condition.snr_db, clip_seed(condition.seed, clip.file), condition.noise)


def run_clips(assistant: Any, clips: tuple[Clip, ...], condition: Condition) -> ConditionRun:
    """Every clip through a fresh pipeline of `assistant` under one condition."""
    scorer, vad = instrument(assistant)
    scorer.frame_ms, vad.frame_ms = [], []
    run = ConditionRun(condition)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for clip in clips:
        try:
            samples = clip_samples(clip, condition)
        except AudioError as exc:  # one broken WAV must not cost the report on all the others
            run.skipped.append(SkippedClip(clip.file, str(exc)))
            continue
        turns = assistant.pipeline(lambda event: None, source=clip.file).run(frames(samples))
        run.results.append(ClipResult(clip, condition.name, len(samples) / SAMPLE_RATE, dict(scorer.peaks),
                                      tuple(_turn(t) for t in turns)))
    run.cpu_s = time.process_time() - cpu0
    run.wall_s = time.perf_counter() - wall0
    run.wake_frame_ms, run.vad_frame_ms = scorer.frame_ms, vad.frame_ms
    return run


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
