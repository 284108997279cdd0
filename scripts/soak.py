#!/usr/bin/env python3
"""Soak: stream >= 1 hour of mixed audio (commands, ordinary speech, noise, silence) through the whole
loop at full speed, and check memory growth, thread and socket leaks, and unexpected dispatches.

    .venv/bin/python scripts/soak.py [--hours 1] [--seed 7] [--broker HOST:PORT]

Without --broker it is a dry run (messages computed, nothing published). The audio is assembled on the
fly from the committed fixtures (labelled turns, speech, noise), so it never sits in memory whole.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

from assistant.audio import frames, read_wav  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.messages import SAMPLE_RATE  # noqa: E402

FIX = ROOT / "tests" / "fixtures"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def open_sockets() -> int:
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            n += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n


def load_pool():
    """(samples, commands expected in it) for every usable clip."""
    pool = []
    for line in (FIX / "turns" / "labels.jsonl").read_text().splitlines():
        item = json.loads(line)
        expected = sum(1 for t in item["turns"] if t["kind"] == "command")
        pool.append((read_wav(FIX / "turns" / item["file"]), expected))
    for folder in ("speech", "wake"):
        for line in (FIX / folder / "labels.jsonl").read_text().splitlines():
            item = json.loads(line)
            if folder == "wake" and item.get("wake_word"):
                continue  # a bare wake word would open a turn with no command; keep the count simple
            pool.append((read_wav(FIX / folder / item["file"]), 0))
    return pool


def stream(pool, seconds: float, seed: int, plan: list):
    """Yield 80 ms frames of random clips separated by 0.5-3 s of quiet noise floor; record the plan."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    t_ms = 0
    while t_ms < seconds * 1000:
        samples, expected = rng.choice(pool)
        gap = (noise.standard_normal(int(SAMPLE_RATE * rng.uniform(0.5, 3.0))) * 30).astype(np.int16)
        clip = np.concatenate([gap, samples])
        plan.append((t_ms, expected))
        for frame in frames(clip, start_ms=t_ms):
            yield frame
        t_ms += -(-len(clip) // 1280) * 80  # frames() pads the last partial frame


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--broker", metavar="HOST:PORT")
    ap.add_argument("--warmup-min", type=float, default=5.0)
    args = ap.parse_args()

    from assistant.app import build
    from assistant.config import MqttSettings

    settings = load_settings()
    mqtt = None
    if args.broker:
        from assistant.commands.devices import parse_broker  # [::1]:1883 too, and a clear line for garbage
        from assistant.errors import ConfigError

        try:
            host, port = parse_broker(args.broker, 1883)
        except ConfigError as exc:
            raise SystemExit(str(exc)) from None
        mqtt = MqttSettings(host=host, port=port)
    assistant = build(settings, mqtt)
    pool = load_pool()
    plan: list = []
    samples = []  # (audio minutes, rss MB)
    dispatched = understood = turns_seen = unexpected = 0
    start_cpu, start_wall = time.process_time(), time.monotonic()
    baseline: dict = {}

    def on_turn(turn) -> None:
        nonlocal dispatched, understood, turns_seen, unexpected
        turns_seen += 1
        understood += turn.not_understood is None
        if turn.messages:
            dispatched += 1
            # which clip was playing when the wake word fired? a clip with no command must not publish
            clip = max((p for p in plan if p[0] <= turn.wake.time_ms), default=(0, 0))
            unexpected += clip[1] == 0

    pipe = assistant.pipeline(lambda e: None, source="soak", on_turn=on_turn)
    last_mark = 0.0

    def frames_with_marks():
        nonlocal last_mark
        for frame in stream(pool, args.hours * 3600, args.seed, plan):
            minutes = frame.end_ms / 60000
            if minutes - last_mark >= 1.0:
                last_mark = minutes
                samples.append((minutes, rss_mb()))
                if not baseline and minutes >= args.warmup_min:
                    baseline.update(threads=threading.active_count(), sockets=open_sockets(), rss=rss_mb())
            yield frame

    for _ in pipe.stream(frames_with_marks()):
        pass
    audio_s = last_mark * 60
    cpu = time.process_time() - start_cpu
    wall = time.monotonic() - start_wall
    expected = sum(e for _, e in plan)
    after = [r for m, r in samples if m >= args.warmup_min]
    growth = (max(after) - baseline["rss"]) if after and baseline else float("nan")
    print(f"audio streamed: {audio_s / 3600:.2f} h in {wall / 60:.1f} min wall ({audio_s / wall:.0f}x real time), "
          f"{cpu / audio_s:.4f} CPU-s per audio-s")
    print(f"clips: {len(plan)}, commands in the labels: {expected}, turns: {turns_seen}, understood: {understood}, "
          f"turns that published: {dispatched}")
    print(f"memory: {baseline.get('rss', 0):.0f} MB after {args.warmup_min:g} min warm-up, peak after warm-up "
          f"{max(after) if after else 0:.0f} MB, growth {growth:.1f} MB (target < 10)")
    print(f"threads: {baseline.get('threads')} -> {threading.active_count()}; sockets: {baseline.get('sockets')} -> "
          f"{open_sockets()}")
    print(f"dispatches beyond what the labels call for: {unexpected}")
    assistant.close()
    ok = growth < 10 and unexpected == 0 and threading.active_count() <= baseline.get("threads", 0) \
        and open_sockets() <= baseline.get("sockets", 0)
    print("SOAK OK" if ok else "SOAK FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
