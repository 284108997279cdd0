"""`assistant evaluate DATASET`: run a labelled folder of WAVs through the full loop and report the figures."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from . import settings_from
from .devices import add_broker_args, broker_settings
from ..errors import ConfigError
from ..config import SPEECH_ENGINES


def register(sub, common) -> None:
    p = sub.add_parser("evaluate", parents=[common],
                       help="measure wake, transcript, intent and MQTT accuracy, latency and cost on a labelled set")
    p.add_argument("dataset", metavar="DATASET", help="folder of WAVs with labels.jsonl (e.g. eval/)")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.add_argument("--report", metavar="DIR", help="write report.md, report.json, clips.jsonl and PNG plots here")
    p.add_argument("--snr", action="append", metavar="DB",
                   help="mix noise in at this SNR; repeat or comma-separate for a sweep, 'clean' for none "
                        "(default: the dataset's conditions.json, else clean)")
    p.add_argument("--noise", metavar="FILE", help="noise WAV to mix in (default: generated pink noise)")
    p.add_argument("--seed", type=int, help="noise seed (default: the dataset's, else 0)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N clips (a quick look)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="worker processes (default: one per CPU; dry run only; the figures do not depend on it)")
    p.add_argument("--engine", choices=SPEECH_ENGINES, help="speech engine (default from config)")
    add_broker_args(p, "publish through this MQTT broker to simulated devices started on it (default: no "
                       "broker, a dry run that only computes the messages)")
    p.set_defaults(func=run)


def _conditions(args: argparse.Namespace, dataset):
    from ..evaluate.dataset import Condition

    if args.noise and not Path(args.noise).is_file():
        raise ConfigError(f"--noise {args.noise}: no such file; give a WAV of noise or leave it out for pink noise")
    if args.noise and not args.snr:
        raise ConfigError("--noise needs --snr DB (the signal-to-noise ratio to mix at)")
    seed = args.seed if args.seed is not None else dataset.conditions[0].seed
    if not args.snr:
        return tuple(Condition(c.snr_db, c.noise, seed) for c in dataset.conditions)
    out = []
    for item in ",".join(args.snr).split(","):
        item = item.strip()
        if item.lower() == "clean":
            out.append(Condition(None, "pink", seed))
            continue
        try:
            snr = float(item)
        except ValueError:
            raise ConfigError(f"--snr {item!r}: expected a number of dB (e.g. 10) or 'clean'") from None
        out.append(Condition(snr, args.noise or "pink", seed))
    return tuple(out)


def say(line: str) -> None:
    """Progress on stderr (module level so worker processes can be handed it)."""
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..evaluate import summary
    from ..evaluate.dataset import load_dataset
    from ..evaluate.runner import peak_rss_mb
    from ..evaluate.work import evaluate

    dataset = load_dataset(args.dataset)
    if args.limit is not None:
        if args.limit < 1:
            raise ConfigError("--limit must be at least 1")
        dataset = replace(dataset, clips=dataset.clips[: args.limit])
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError("--jobs must be at least 1")
    conditions = _conditions(args, dataset)
    jobs = args.jobs or os.cpu_count() or 1
    settings = settings_from(args).with_overrides(speech={"engine": args.engine})
    mqtt = broker_settings(args, settings) if args.broker is not None else None
    started = time.perf_counter()
    simulator = None
    if mqtt is not None:
        from ..devices.registry import load_registry
        from ..sim.runner import Simulator

        simulator = Simulator(load_registry(settings.config_dir), mqtt).start_thread()
    try:
        runs = evaluate(settings, mqtt, dataset, conditions, jobs, say)
    finally:
        if simulator is not None:
            simulator.stop()
    meta = {"dataset": str(args.dataset), "dry_run": mqtt is None, "broker": f"{mqtt.host}:{mqtt.port}" if mqtt else None,
            "engine": runs[0].engine, "threshold": settings.wake.threshold,
            "noisy_threshold": settings.wake.noisy_threshold,
            "jobs": 1 if mqtt is not None else jobs, "cpus": os.cpu_count(),
            "load_s": round(max(r.load_s for r in runs), 2), "wall_s": round(time.perf_counter() - started, 2),
            "peak_rss_mb": round(max([peak_rss_mb()] + [r.peak_rss_mb for r in runs]), 1)}
    rep = summary.report(runs, meta)
    for clip in rep["skipped_clips"]:
        say(f"error: {clip['error']}; clip skipped (the report counts it)")
    if args.report:
        _write_report(Path(args.report), runs, rep, settings.wake.threshold, say)
        say(f"report written to {args.report}/report.md")
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        print(summary.markdown(rep))
    return 1 if rep["skipped_clips"] else 0


def _write_report(folder: Path, runs, rep: dict, threshold: float, say) -> None:
    import importlib.util

    from ..evaluate import plots, summary

    try:
        folder.mkdir(parents=True, exist_ok=True)
        names: list[str] = []
        if importlib.util.find_spec("matplotlib") is None:  # an extra: the demo's setup leaves it out
            say("note: no plots in the report: matplotlib is not installed "
                "(.venv/bin/pip install -e '.[report]', or scripts/setup.sh --test)")
        else:
            names = plots.write_all(runs, rep, threshold, folder)
        (folder / "report.md").write_text(summary.markdown(rep, names), encoding="utf-8")
        (folder / "report.json").write_text(json.dumps(rep, indent=2) + "\n", encoding="utf-8")
        with open(folder / "clips.jsonl", "w", encoding="utf-8") as out:
            for run in runs:
                for result in run.results:
                    out.write(json.dumps(result.to_json()) + "\n")
    except OSError as exc:
        raise ConfigError(f"--report {folder}: cannot write there ({exc.strerror or exc})") from None
