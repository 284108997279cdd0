"""PNG plots for the evaluation report (matplotlib, Agg backend, imported only when plots are asked for)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .runner import ConditionRun
from .summary import STAGES, stage_samples

log = logging.getLogger(__name__)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def wake_scores(runs: list[ConditionRun], threshold: float, path: Path) -> None:
    """Peak wake score per clip: clips with the wake word vs clips without, per condition."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(runs), figsize=(4.5 * len(runs), 3.6), squeeze=False, sharey=True)
    bins = [i / 40 for i in range(41)]
    for ax, run in zip(axes[0], runs):
        pos = [r.peaks.get(r.clip.wake_word, 0.0) for r in run.results if r.clip.wake_word]
        neg = [max(r.peaks.values(), default=0.0) for r in run.results if not r.clip.wake_word]
        ax.hist(pos, bins=bins, alpha=0.6, label=f"with wake word ({len(pos)})", color="tab:green")
        ax.hist(neg, bins=bins, alpha=0.6, label=f"without ({len(neg)})", color="tab:red")
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:g}")
        ax.set_yscale("log")
        ax.set_title(run.condition.name)
        ax.set_xlabel("peak wake score in clip")
    axes[0][0].set_ylabel("clips")
    axes[0][0].legend(fontsize=8, loc="upper center")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def latency(runs: list[ConditionRun], path: Path) -> None:
    """Wall-clock time per call of each stage, all conditions pooled."""
    plt = _pyplot()
    pooled: dict[str, list[float]] = {s: [] for s in STAGES}
    for run in runs:
        for stage, values in stage_samples(run).items():
            pooled[stage].extend(values)
    stages = [s for s in STAGES if pooled[s]]
    cols = 3
    rows = (len(stages) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(12, 3 * rows), squeeze=False)
    for ax, stage in zip(axes.flat, stages):
        ax.hist(pooled[stage], bins=40, color="tab:blue")
        ax.set_title(f"{stage} (n={len(pooled[stage])})", fontsize=9)
        ax.set_xlabel("ms")
    for ax in list(axes.flat)[len(stages):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def accuracy_vs_snr(conditions: list[dict[str, Any]], path: Path) -> None:
    """The headline rates for each condition, clean first, then by falling SNR."""
    plt = _pyplot()
    order = sorted(conditions, key=lambda c: float("-inf") if c["snr_db"] is None else -c["snr_db"])
    labels = [c["condition"] for c in order]
    series = {
        "wake recall": lambda f: f["wake"]["recall"],
        "transcript exact": lambda f: f["transcript"]["exact_rate"],
        "intent exact": lambda f: f["intent"]["exact_rate"],
        "MQTT exact (commands)": lambda f: f["mqtt"]["exact_rate"],
        "non-commands rejected": lambda f: f["rejection"]["rejection_rate"],
    }
    fig, ax = plt.subplots(figsize=(6.5, 4))
    x = list(range(len(order)))
    for name, get in series.items():
        y = [get(c["figures"]) for c in order]
        ax.plot(x, [v if v is not None else float("nan") for v in y], marker="o", label=name)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("condition (SNR)")
    ax.set_ylabel("rate")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_all(runs: list[ConditionRun], rep: dict[str, Any], threshold: float, folder: Path) -> list[str]:
    """Draw every plot into folder; returns the file names (none when no clip could be read)."""
    names: list[str] = []
    if not any(run.results for run in runs):
        return names
    wake_scores(runs, threshold, folder / "wake_scores.png")
    names.append("wake_scores.png")
    latency(runs, folder / "latency.png")
    names.append("latency.png")
    if len(rep["conditions"]) > 1:
        accuracy_vs_snr(rep["conditions"], folder / "accuracy_vs_snr.png")
        names.append("accuracy_vs_snr.png")
    return names
