"""The `assistant` command: builds settings and adapters, runs one subcommand, turns errors into one line."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from .errors import AssistantError

# Each name is a module in assistant/commands exposing register(subparsers, common) -> None,
# whose parser sets `func(args) -> int`.
COMMANDS = ("models", "mics", "wake", "transcribe", "intent", "devices", "simulate", "run", "listen", "demo",
            "evaluate", "hub", "satellite")

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


class _ReaderMayLeave:
    """stdout for `assistant ... | head`: once the reader has gone, what is left to print goes nowhere
    and the command runs to its end, so its exit status is the one it would have had alone."""

    def __init__(self, stream):
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone()

    def _gone(self) -> None:
        self.reader_gone = True
        # what is still buffered would fail again when Python exits: point the descriptor at /dev/null
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _real_stdout() -> bool:
    try:
        sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # captured (tests) or replaced: leave it alone
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    if not _real_stdout():
        return _main(argv)
    stdout = sys.stdout
    sys.stdout = _ReaderMayLeave(stdout)
    try:
        return _main(argv)
    finally:
        sys.stdout = stdout


def _main(argv: list[str] | None) -> int:
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
    except BrokenPipeError:  # stdout is guarded above; this is a pipe the command itself wrote to
        print("error: the output pipe closed", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
