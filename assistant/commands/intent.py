"""`assistant intent TEXT | -`: what the assistant would do for a sentence, without any audio."""

from __future__ import annotations

import argparse
import json
import sys

from . import settings_from
from ..intents import match
from ..app import load_language
from ..errors import ConfigError
from ..messages import NotUnderstood


def register(sub, common) -> None:
    p = sub.add_parser("intent", parents=[common], help="match text against the sentence templates")
    p.add_argument("text", nargs="+", metavar="TEXT",
                   help="one or more texts, each matched on its own (quote a sentence), or - to read one per line "
                        "from stdin")
    p.add_argument("--area", metavar="AREA",
                   help="where the speaker is: what 'the lights' and 'in here' mean (default: satellite.area)")
    p.add_argument("--json", action="store_true", help="one JSON object per text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    language = load_language(settings)
    area = args.area or settings.satellite.area
    if area is not None and area not in language.home.areas:
        raise ConfigError(f"unknown area {area!r} for --area; the areas of {language.home.source} are: "
                          f"{', '.join(language.home.areas)}")
    texts = [line.rstrip("\n") for line in sys.stdin] if args.text == ["-"] else list(args.text)
    missed = 0
    for text in texts:
        if not text.strip() and args.text == ["-"]:
            continue
        result = match(language, text, area)
        understood = not isinstance(result, NotUnderstood)
        missed += not understood
        record = {"text": text, "understood": understood,
                  "intents": [{**i.to_json(), "source": i.source, "confidence": i.confidence} for i in result]
                  if understood else []}
        if not understood:
            record["reason"] = result.reason
            if result.out_of_domain:
                record["out_of_domain"] = result.out_of_domain
            if result.needs_area:
                record["needs_area"] = True
        if args.json:
            print(json.dumps(record), flush=True)
        elif understood:
            print(f"{text}: " + "; ".join(f"{i.name} {json.dumps(dict(i.slots))} ({i.source}, confidence "
                                          f"{i.confidence:.2f})" for i in result), flush=True)
        else:
            print(f"{text}: not understood ({result.reason})", flush=True)
    return 0 if missed == 0 else 1
