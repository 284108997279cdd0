#!/usr/bin/env python3
"""Turn-taking after the wake word: does every pause between the wake word and the command give the result
of the one-breath form, and does the wake word's audio stay out of the command?

Each wake word clip of tests/fixtures/wake (cut at its labelled end) is joined to command clips of
tests/fixtures/commands (cut at their labelled speech) with 0 (one breath) to 2 s of a quiet room between,
and replayed through the whole loop, dry run. Prints each command whose transcript or messages differ
from one pause to another.

    .venv/bin/python scripts/pause_after_wake.py [--pauses 0,0.2,0.5,1,2] [--wake-voice joe] [--command-voice joe]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from assistant.app import build  # noqa: E402
from assistant.audio import frames, read_wav  # noqa: E402
from assistant.config import load_settings  # noqa: E402

SR = 16000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pauses", default="0,0.2,0.35,0.5,0.8,1.2,2.0", help="seconds, the first is the reference")
    ap.add_argument("--wake-voice", action="append", help="voices of tests/fixtures/wake (default: joe, heart)")
    ap.add_argument("--command-voice", help="voice of tests/fixtures/commands (default: the wake word's)")
    ap.add_argument("--commands", type=int, default=5, help="commands per voice")
    ap.add_argument("--engine", default="grammar")
    args = ap.parse_args()
    pauses = [float(p) for p in args.pauses.split(",")]
    voices = args.wake_voice or ["joe", "heart"]
    wake_rows = [json.loads(line) for line in open(ROOT / "tests/fixtures/wake/labels.jsonl")]
    command_rows = [json.loads(line) for line in open(ROOT / "tests/fixtures/commands/labels.jsonl")]
    settings = load_settings().with_overrides(wake={"wake_words": ("alexa", "hey_jarvis")},
                                              speech={"engine": args.engine})
    assistant = build(settings, None)
    rng = np.random.default_rng(1)
    same = total = 0
    for wake in wake_rows:
        if wake["kind"] != "positive" or wake["voice"] not in voices or wake.get("snr_db") is not None:
            continue
        word = read_wav(ROOT / "tests/fixtures/wake" / wake["file"])[: int((wake["speech_end_s"] + 0.02) * SR)]
        voice = args.command_voice or wake["voice"]
        for command in [r for r in command_rows if r.get("voice") == voice][: args.commands]:
            audio = read_wav(ROOT / "tests/fixtures/commands" / command["file"])
            said = audio[int(max(0.0, command["speech_start_s"] - 0.05) * SR): int((command["speech_end_s"] + 0.05) * SR)]
            results = []
            for pause in pauses:
                room = rng.normal(0, 10, int(pause * SR)).astype(np.int16)  # about -70 dBFS, not digital silence
                tail = rng.normal(0, 10, 2 * SR).astype(np.int16)
                turns = assistant.pipeline(lambda event: None).run(frames(np.concatenate([word, room, said, tail])))
                results.append([(t.transcript.text if t.transcript else "", [m.topic + m.payload for m in t.messages])
                                for t in turns])
            total += 1
            differ = [(p, r) for p, r in zip(pauses, results) if r != results[0]]
            same += not differ
            if differ:
                print(f"{wake['wake_word']} ({wake['voice']}) + {command['text']!r} ({voice}): at {pauses[0]} s "
                      f"{results[0][0][0] if results[0] else 'no turn'!r}; "
                      + "; ".join(f"at {p} s {r[0][0] if r else 'no turn'!r}" for p, r in differ))
    print(f"{same}/{total} commands give the same result at every pause {pauses}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
