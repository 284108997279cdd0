"""`assistant intent TEXT | -`: what the assistant would do for a sentence, without any audio."""

from __future__ import annotations

import argparse
import json
import sys

from . import settings_from
from ..intents import load_language, match
from ..messages import NotUnderstood


def register(sub, common) -> None:
    p = sub.add_parser("intent", parents=[common], help="match text against the sentence templates")
    p.add_argument("text", nargs="+", metavar="TEXT", help="a command, or - to read one per line from stdin")
    p.add_argument("--json", action="store_true", help="one JSON object per text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    language = load_language(settings_from(args))
    texts = [line.rstrip("\n") for line in sys.stdin] if args.text == ["-"] else [" ".join(args.text)]
    missed = 0
    for text in texts:
        if not text.strip() and args.text == ["-"]:
            continue
        result = match(language, text)
        understood = not isinstance(result, NotUnderstood)
        missed += not understood
        record = {"text": text, "understood": understood,
                  "intents": [i.to_json() for i in result] if understood else []}
        if not understood:
            record["reason"] = result.reason
        if args.json:
            print(json.dumps(record), flush=True)
        elif understood:
            print(f"{text}: " + "; ".join(f"{i.name} {json.dumps(dict(i.slots))}" for i in result), flush=True)
        else:
            print(f"{text}: not understood ({result.reason})", flush=True)
    return 0 if missed == 0 else 1
