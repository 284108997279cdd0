"""`assistant run FILE...`: replay WAVs through the whole loop (wake -> record -> STT -> intent -> MQTT)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from . import settings_from, wav_sources
from .devices import add_broker_args, broker_settings
from ..errors import BrokerError
from ..messages import Interaction
from ..config import SPEECH_ENGINES


def register(sub, common) -> None:
    p = sub.add_parser("run", parents=[common], help="replay WAV files through the full voice loop",
                       epilog="Exit status 1 when a file could not be read or a device change or answer did not "
                              "happen (unreachable, refused, unconfirmed, failed); 'not understood' is not an error. "
                              "Exit status 2 when the broker cannot be reached at the start.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="JSON-lines events for every stage of every turn")
    target = p.add_mutually_exclusive_group()  # a dry run publishes nowhere, so a broker would be ignored
    target.add_argument("--dry-run", action="store_true", help="print the MQTT messages instead of publishing")
    add_broker_args(p, broker_group=target)
    p.add_argument("--realtime", action="store_true", help="replay at 1x speed instead of as fast as possible")
    p.add_argument("--wake-word", action="append", metavar="NAME|PATH", help="wake word(s) (default from config)")
    p.add_argument("--engine", choices=SPEECH_ENGINES, help="speech engine (default from config)")
    p.set_defaults(func=run)


def paced(frames):
    """Yield frames no faster than real time (for --realtime)."""
    start = time.monotonic()
    for frame in frames:
        delay = start + frame.end_ms / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield frame


def run(args: argparse.Namespace) -> int:
    from ..app import build
    from ..present import turn_line

    settings = settings_from(args).with_overrides(
        wake={"wake_words": tuple(args.wake_word) if args.wake_word else None},
        speech={"engine": args.engine})
    mqtt = None if args.dry_run else broker_settings(args, settings)
    try:  # a broker missing now is a setting to fix, not an outage to wait out
        assistant = build(settings, mqtt, say=lambda s: print(s, file=sys.stderr), broker_required=True)
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    emit = (lambda e: print(json.dumps(e), flush=True)) if args.json else (lambda e: None)

    def show(turn: Interaction) -> None:
        """Each turn's lines as soon as it ends (as --json streams its events), not when the file does."""
        print("  " + turn_line(assistant.registry, turn))
        if args.dry_run:
            for m in turn.messages:
                print(f"    would publish {m.topic} {m.payload}")
        sys.stdout.flush()

    on_turn = (lambda turn: None) if args.json else show
    failed: list[str] = []
    undone = 0
    try:
        for name, source in wav_sources(args.files, failed, args.json, event="error"):
            frames = paced(source) if args.realtime else iter(source)
            if not args.json:
                print(f"{name}: {source.duration_s:.1f} s of audio", flush=True)
            turns = assistant.pipeline(emit, source=name, on_turn=on_turn).run(frames)
            if not args.json:
                print(f"  {len(turns)} turn(s)", flush=True)
            undone += sum(o.outcome.missed for turn in turns for o in turn.outcomes)
    finally:
        assistant.close()
    if undone:
        print(f"{undone} device change(s) or answer(s) did not happen", file=sys.stderr)
    return 1 if failed or undone else 0
