"""One module per `assistant` subcommand; each exposes register(subparsers, common)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Iterator

from ..audio import WavSource
from ..config import Settings, load_settings
from ..errors import AudioError


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None), getattr(args, "models", None))


def stop_on_sigterm() -> None:
    """SIGTERM (a service manager, `kill PID`) stops the command as Ctrl-C does, so its `finally` blocks run:
    the broker it started is stopped and its files removed."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def report_bad_file(name: str, exc: Exception, as_json: bool, **extra: Any) -> None:
    """A file that cannot be used: one line on stderr, and with --json one {"file", "error"} line on stdout
    (plus `extra`, e.g. run's "event": "error"), so a reader of the JSON sees every file it asked for."""
    print(f"error: {exc}", file=sys.stderr, flush=True)
    if as_json:
        print(json.dumps({**extra, "file": name, "error": str(exc)}), flush=True)


def wav_sources(names: list[str], failed: list[str], as_json: bool = False,
                **extra: Any) -> Iterator[tuple[str, WavSource]]:
    """Each readable WAV in turn; a broken one is reported (see report_bad_file), added to `failed`, and
    skipped, so one bad file never stops the others."""
    for name in names:
        try:
            source = WavSource(name)
        except AudioError as exc:
            report_bad_file(name, exc, as_json, **extra)
            failed.append(name)
            continue
        yield name, source
