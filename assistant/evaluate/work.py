"""Splitting an evaluation into units of work and running them, in worker processes for a dry run.

A unit is one condition over one fixed block of clips, decoded by a freshly built recognizer. The
recognizer is the only part that carries state from one utterance to the next (PocketSphinx adapts its
feature normalisation), so with fresh recognizers per fixed block the figures do not depend on how many
workers ran, or in which order. Wake scorer, VAD and listener are reset for every clip anyway, and a
dry-run dispatcher knows no device state, so the rest of the assistant is loaded once per process.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from .dataset import Condition, Dataset
from .runner import ConditionRun, peak_rss_mb, run_clips

log = logging.getLogger(__name__)

BLOCK_CLIPS = 70  # clips per unit: part of the definition of the figures, never derived from --jobs


@dataclass(frozen=True)
class Unit:
    condition: Condition
    start: int
    stop: int


def units(dataset: Dataset, conditions: tuple[Condition, ...]) -> list[Unit]:
    n = len(dataset.clips)
    return [Unit(c, i, min(i + BLOCK_CLIPS, n)) for c in conditions for i in range(0, n, BLOCK_CLIPS)]


class Evaluator:
    """One loaded assistant that runs units, with a fresh recognizer for each."""

    def __init__(self, settings: Any, mqtt: Any, progress: Callable[[str], None] = lambda line: None):
        from ..app import build

        started = time.perf_counter()
        self.settings = settings
        self.assistant = build(settings, mqtt, say=progress)
        self.load_s = time.perf_counter() - started
        self._used = False

    def run(self, dataset: Dataset, unit: Unit) -> ConditionRun:
        from ..app import build_recognizer

        if self._used:
            self.assistant.recognizer = build_recognizer(self.settings, self.assistant.language)
        self._used = True
        run = run_clips(self.assistant, dataset.clips[unit.start:unit.stop], unit.condition)
        run.engine, run.load_s, run.peak_rss_mb = self.assistant.recognizer.name, self.load_s, peak_rss_mb()
        return run

    def close(self) -> None:
        self.assistant.close()


_worker: dict[str, Any] = {}


def _init_worker(settings: Any, progress: Callable[[str], None]) -> None:
    _worker["evaluator"] = Evaluator(settings, None, progress)
    _worker["progress"] = progress


def _run_unit(dataset: Dataset, unit: Unit) -> ConditionRun:
    run = _worker["evaluator"].run(dataset, unit)
    _worker["progress"](f"{unit.condition.name}: clips {unit.start + 1}-{unit.stop} done")
    return run


def merge(parts: list[ConditionRun]) -> ConditionRun:
    """The units of one condition, in clip order, as one run (costs summed)."""
    run = ConditionRun(parts[0].condition, engine=parts[0].engine, load_s=max(p.load_s for p in parts),
                       peak_rss_mb=max(p.peak_rss_mb for p in parts))
    for part in parts:
        run.results += part.results
        run.skipped += part.skipped
        run.wake_frame_ms += part.wake_frame_ms
        run.vad_frame_ms += part.vad_frame_ms
        run.cpu_s += part.cpu_s
        run.wall_s += part.wall_s
    return run


def evaluate(settings: Any, mqtt: Any, dataset: Dataset, conditions: tuple[Condition, ...], jobs: int,
             progress: Callable[[str], None] = lambda line: None) -> list[ConditionRun]:
    """Every condition over every clip; parallel worker processes only for a dry run (a live broker
    holds device state that several assistants would race on)."""
    todo = units(dataset, conditions)
    if jobs <= 1 or mqtt is not None or len(todo) == 1:
        evaluator = Evaluator(settings, mqtt, progress)
        try:
            done = []
            for unit in todo:
                done.append(evaluator.run(dataset, unit))
                progress(f"{unit.condition.name}: clips {unit.start + 1}-{unit.stop} done")
        finally:
            evaluator.close()
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")  # onnxruntime and paho threads do not survive fork
        with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=context,
                                 initializer=_init_worker, initargs=(settings, progress)) as pool:
            done = list(pool.map(_run_unit, [dataset] * len(todo), todo))
    return [merge([run for unit, run in zip(todo, done) if unit.condition == c]) for c in conditions]
