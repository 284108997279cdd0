"""One module per `assistant` subcommand; each exposes register(subparsers, common)."""

from __future__ import annotations

import argparse

from ..config import Settings, load_settings


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None), getattr(args, "models", None))
