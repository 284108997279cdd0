#!/usr/bin/env python3
"""Turn-taking after the wake word: does every pause between the wake word and the command give the result
of the one-breath form, and does the wake word's audio stay out of the command?

Each wake word clip of tests/fixtures/wake (cut at its labelled end) is joined to command clips of
tests/fixtures/commands (cut at their labelled speech) with 0 (one breath) to 2 s of a quiet room between,
and replayed through the whole loop, dry run. The fixture voices are none of eval/'s. As when the wake
model fires before the word has ended (some speakers' "alexa", ~150 ms early), --before-end-ms puts its
first confident frame at the frame end nearest that much before the word's labelled end, and --early-ms
moves it that much earlier than the model put it. Prints each command whose transcript or messages differ from one pause to another,
then a table: per wake word and voice, how many commands were heard right (the labelled text) at each pause.

    .venv/bin/python scripts/pause_after_wake.py [--pauses 0,0.2,0.5,1,2] [--wake-voice joe] [--before-end-ms 150 | --early-ms 160]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from assistant.app import build  # noqa: E402
from assistant.audio import frames, read_wav  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.messages import FRAME_MS  # noqa: E402

SR = 16000
COMMAND_VOICES = ("joe", "heart", "espeak-en-us-160")  # the voices of tests/fixtures/commands


class EarlyFiring:
    """The wake policy, with every detection's first confident frame moved early_ms earlier, or (given the
    word's end) to the frame end nearest before_end_ms before it."""

    def __init__(self, policy, early_ms: int = 0, before_end_ms: int | None = None, word_end_ms: int = 0):
        self.policy, self.early_ms = policy, early_ms
        self.onset_ms = None if before_end_ms is None else round((word_end_ms - before_end_ms) / FRAME_MS) * FRAME_MS

    def feed(self, scores, level_dbfs=None):
        wake = self.policy.feed(scores, level_dbfs)
        if wake is None:
            return wake
        if self.onset_ms is not None:
            return replace(wake, onset_ms=self.onset_ms, time_ms=max(wake.time_ms, self.onset_ms))
        onset = wake.onset_ms if wake.onset_ms is not None else wake.time_ms
        return replace(wake, onset_ms=onset - self.early_ms)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pauses", default="0,0.2,0.35,0.5,1.0,2.0", help="seconds, the first is the reference")
    ap.add_argument("--wake-voice", action="append",
                    help="voices of tests/fixtures/wake (default: joe, heart, heart-gb, espeak-en-gb-140)")
    ap.add_argument("--command-voice", help="voice of tests/fixtures/commands (default: the nearest to the wake word's)")
    ap.add_argument("--commands", type=int, default=4, help="commands per voice")
    ap.add_argument("--early-ms", type=int, default=0, help="move the wake model's first confident frame this much earlier")
    ap.add_argument("--before-end-ms", type=int, default=None,
                    help="put the wake model's first confident frame this much before the word's labelled end")
    ap.add_argument("--engine", default="grammar")
    args = ap.parse_args()
    pauses = [float(p) for p in args.pauses.split(",")]
    voices = args.wake_voice or ["joe", "heart", "heart-gb", "espeak-en-gb-140"]
    wake_rows = [json.loads(line) for line in open(ROOT / "tests/fixtures/wake/labels.jsonl")]
    command_rows = [json.loads(line) for line in open(ROOT / "tests/fixtures/commands/labels.jsonl")]
    settings = load_settings().with_overrides(wake={"wake_words": ("alexa", "hey_jarvis")},
                                              speech={"engine": args.engine})
    assistant = build(settings, None)
    rng = np.random.default_rng(1)
    same = total = 0
    table: list[tuple[str, list[int], int]] = []
    for wake in wake_rows:
        if wake["kind"] != "positive" or wake["voice"] not in voices or wake.get("snr_db") is not None:
            continue
        word = read_wav(ROOT / "tests/fixtures/wake" / wake["file"])[: int((wake["speech_end_s"] + 0.02) * SR)]
        voice = args.command_voice or next((v for v in COMMAND_VOICES if wake["voice"].startswith(v)), "espeak-en-us-160")
        right = [0] * len(pauses)
        chosen = [r for r in command_rows if r.get("voice") == voice][: args.commands]
        for command in chosen:
            audio = read_wav(ROOT / "tests/fixtures/commands" / command["file"])
            said = audio[int(max(0.0, command["speech_start_s"] - 0.05) * SR): int((command["speech_end_s"] + 0.05) * SR)]
            results = []
            for i, pause in enumerate(pauses):
                room = rng.normal(0, 10, int(pause * SR)).astype(np.int16)  # about -70 dBFS, not digital silence
                tail = rng.normal(0, 10, 2 * SR).astype(np.int16)
                pipeline = assistant.pipeline(lambda event: None)
                pipeline.policy = EarlyFiring(pipeline.policy, args.early_ms, args.before_end_ms,
                                              round(wake["speech_end_s"] * 1000))
                turns = pipeline.run(frames(np.concatenate([word, room, said, tail])))
                results.append([(t.transcript.text if t.transcript else "", [m.topic + m.payload for m in t.messages])
                                for t in turns])
                right[i] += [r[0] for r in results[-1]] == [command["text"]]
            total += 1
            differ = [(p, r) for p, r in zip(pauses, results) if r != results[0]]
            same += not differ
            if differ:
                print(f"{wake['wake_word']} ({wake['voice']}) + {command['text']!r} ({voice}): at {pauses[0]} s "
                      f"{results[0][0][0] if results[0] else 'no turn'!r}; "
                      + "; ".join(f"at {p} s {r[0][0] if r else 'no turn'!r}" for p, r in differ))
        table.append((f"{wake['wake_word']} ({wake['voice']})", right, len(chosen)))
    fired = (f"first confident frame ~{args.before_end_ms} ms before the word's end" if args.before_end_ms is not None
             else f"first confident frame {args.early_ms} ms earlier than the model's")
    print(f"\nheard right (the labelled text), {fired}, engine {args.engine}")
    print("| wake word (voice) | " + " | ".join(f"{p:g} s" for p in pauses) + " |")
    print("|---|" + "---|" * len(pauses))
    for name, right, n in table:
        print(f"| {name} | " + " | ".join(f"{r}/{n}" for r in right) + " |")
    sums = [sum(row[1][i] for row in table) for i in range(len(pauses))]
    n_all = sum(row[2] for row in table)
    print("| all | " + " | ".join(f"{r}/{n_all}" for r in sums) + " |")
    print(f"{same}/{total} commands give the same result at every pause {pauses}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
