"""The `assistant` command: builds settings and adapters, runs one subcommand, turns errors into one line."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from .errors import AssistantError

# Each name is a module in assistant/commands exposing register(subparsers, common) -> None,
# whose parser sets `func(args) -> int`.
COMMANDS = ("models", "mics", "wake", "transcribe", "intent", "devices", "simulate", "run", "listen", "demo",
            "evaluate")

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="DIR", help="settings, device registry and sentences (default: config/)")
    common.add_argument("--models", metavar="DIR", help="model folder (default: models/, or $ASSISTANT_MODELS_DIR)")
    common.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser = argparse.ArgumentParser(prog="assistant", description="Offline voice assistant for MQTT lights.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as exc:
            if exc.name == f"{__package__}.commands.{name}":
                continue  # command not part of this build
            raise
        module.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
