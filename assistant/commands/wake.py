"""`assistant wake FILE... | --mic`: wake-word detection on WAV files or the live microphone."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Iterable

from . import settings_from, wav_sources
from ..adapters.openwakeword import OpenWakeWordScorer, resolve_wake_words
from ..messages import AudioFrame, WakeDetected
from ..wake import WakePolicy, level_dbfs


def register(sub, common) -> None:
    p = sub.add_parser("wake", parents=[common], help="detect wake words in WAV files or the microphone")
    p.add_argument("files", nargs="*", metavar="FILE")
    p.add_argument("--wake-word", action="append", metavar="NAME|PATH",
                   help="wake word name from the manifest or a .onnx file (repeatable; default from config)")
    p.add_argument("--threshold", type=float,
                   help="fixed score threshold 0-1 (default from config: 0.5, sliding lower in a loud room)")
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    p.add_argument("--mic", action="store_true", help="listen to the microphone instead of files")
    p.add_argument("--input", metavar="N|NAME", help="microphone to use (see 'assistant mics')")
    p.set_defaults(func=run)


def detect(frames: Iterable[AudioFrame], scorer: OpenWakeWordScorer, policy: WakePolicy) -> list[WakeDetected]:
    """Run frames through scorer and policy: the detections exactly as `run` and `listen` get them, each
    with the score it fired on (the peak of its run of frames over the threshold)."""
    found: list[WakeDetected] = []
    for frame in frames:
        hit = policy.feed(scorer.score(frame), level_dbfs(frame.pcm))
        if hit is not None:
            found.append(hit)
    return found


def run(args: argparse.Namespace) -> int:
    if args.threshold is not None and not 0 < args.threshold <= 1:
        print("error: --threshold must be between 0 and 1", file=sys.stderr)
        return 2
    settings = settings_from(args).with_overrides(
        wake={"wake_words": tuple(args.wake_word) if args.wake_word else None, "threshold": args.threshold,
              "noisy_threshold": args.threshold})  # a threshold asked for on the command line stays fixed
    if not args.mic and not args.files:
        print("error: give WAV files or --mic", file=sys.stderr)
        return 2
    scorer = OpenWakeWordScorer(resolve_wake_words(settings.wake.wake_words, settings.models_dir),
                                settings.models_dir, settings.wake.warmup_ms)
    policy = WakePolicy(settings.wake)
    if args.mic:
        return _run_mic(args, scorer, policy)
    failed: list[str] = []
    for i, (name, source) in enumerate(wav_sources(args.files, failed, args.json)):
        if i:
            primed_ms = scorer.reset()
            policy.reset(-primed_ms)
        else:
            policy.reset(-scorer.prime_ms)
        hits = detect(source, scorer, policy)
        if args.json:
            print(json.dumps({"file": name, "duration_s": round(source.duration_s, 3), "detections": [
                {"wake_word": h.wake_word, "time_s": round(h.time_ms / 1000, 2), "score": round(h.score, 3)}
                for h in hits]}), flush=True)
        else:
            if not hits:
                print(f"{name}: no wake word ({source.duration_s:.1f} s)")
            for h in hits:
                print(f"{name}: {h.wake_word} at {h.time_ms / 1000:.2f} s (score {h.score:.2f})")
    return 1 if failed else 0


def _run_mic(args: argparse.Namespace, scorer: OpenWakeWordScorer, policy: WakePolicy) -> int:
    from ..adapters.microphone import MicSource

    mic = MicSource(args.input)
    policy.reset(-scorer.prime_ms)
    print(f"listening for {', '.join(scorer.names)} (Ctrl+C to stop)", file=sys.stderr)
    for frame in mic:
        hit = policy.feed(scorer.score(frame), level_dbfs(frame.pcm))
        if hit is not None:
            line = {"wake_word": hit.wake_word, "time_s": round(hit.time_ms / 1000, 2), "score": round(hit.score, 3)}
            print(json.dumps(line) if args.json else f"{hit.wake_word} at {line['time_s']:.2f} s "
                  f"(score {hit.score:.2f})", flush=True)
    return 0
