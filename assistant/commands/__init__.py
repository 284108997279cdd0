"""One module per `assistant` subcommand; each exposes register(subparsers, common)."""

from __future__ import annotations

import argparse
import sys
from typing import Iterator

from ..audio import WavSource
from ..config import Settings, load_settings
from ..errors import AudioError


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None), getattr(args, "models", None))


def wav_sources(names: list[str], failed: list[str]) -> Iterator[tuple[str, WavSource]]:
    """Each readable WAV in turn; a broken one is reported in one line, added to `failed`, and skipped."""
    for name in names:
        try:
            source = WavSource(name)
        except AudioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        yield name, source
