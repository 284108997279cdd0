"""Whisper tiny.en on the command fixtures: word error rate and CPU-seconds per command, for the 15 s
encoder window against faster-whisper's own 30 s path, beam 1 against 5, with and without the home's names
as the prompt. Also the resident memory with the model loaded and the confidences on ordinary speech.

    .venv/bin/python scripts/whisper_bench.py                  # every variant
    .venv/bin/python scripts/whisper_bench.py --windows 1500 --beams 1 --prompts home

WER counts words after the matcher's normalisation with digits spelt out ("50%" = "fifty percent").
CPU-seconds are process time (CTranslate2 decodes on two threads of its own), so a busy machine inflates
them less than wall time, but not by nothing: compare variants from one run.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from assistant.adapters.whisper import WhisperRecognizer, vocabulary_prompt  # noqa: E402
from assistant.audio import read_wav  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.devices.registry import load_registry  # noqa: E402
from assistant.intents.matcher import normalize  # noqa: E402
from assistant.numbers import number_words  # noqa: E402
from assistant.manifest import require  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"


def words(text: str) -> list[str]:
    out: list[str] = []
    for w in normalize(text).split():
        out += number_words(int(w))[0].split() if w.isdigit() and int(w) <= 9999 else [w]
    return out


def edits(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diag, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diag, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diag + (r != h))
    return row[-1]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def labels(kind: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / kind / "labels.jsonl").read_text().splitlines() if line.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--windows", default="1500,full", help="encoder windows in frames, 'full' = the 30 s path")
    ap.add_argument("--beams", default="1,5")
    ap.add_argument("--prompts", default="home,none")
    ap.add_argument("--speech", action="store_true", help="also the confidences on tests/fixtures/speech")
    ap.add_argument("--show", type=int, default=8, help="wrong transcripts to show per variant")
    args = ap.parse_args()

    settings = load_settings()
    model_dir = require("whisper-tiny-en", settings.models_dir)
    home = vocabulary_prompt(load_registry(settings.config_dir))
    before = rss_mb()
    clips = [(row, read_wav(FIXTURES / "commands" / row["file"]).tobytes()) for row in labels("commands")]
    print(f"prompt: {home!r}")
    print(f"{len(clips)} command clips; RSS before the model {before:.0f} MB")
    for window in args.windows.split(","):
        for beam in map(int, args.beams.split(",")):
            for prompt in args.prompts.split(","):
                rec = WhisperRecognizer(model_dir, home if prompt == "home" else "", beam_size=beam,
                                        window_frames=None if window == "full" else int(window))
                errors = total = exact = rejected = 0
                cpu, confidences, wrong = [], [], []
                for row, pcm in clips:
                    t = rec.transcribe(pcm)
                    ref, hyp = words(row["text"]), words(t.text)
                    e = edits(ref, hyp)
                    errors, total, exact = errors + e, total + len(ref), exact + (e == 0)
                    cpu.append(t.cpu_s)
                    confidences.append(t.confidence)
                    rejected += t.rejected
                    if e:
                        wrong.append(f"    {row['file']}: {t.text!r} ({t.confidence:.2f})")
                print(f"window {window:>4} beam {beam} prompt {prompt:4}: WER {100 * errors / total:4.1f} % "
                      f"({errors}/{total} words), exact {exact}/{len(clips)}, CPU-s per command median "
                      f"{statistics.median(cpu):.3f} (p90 {statistics.quantiles(cpu, n=10)[-1]:.3f}), "
                      f"confidence min {min(confidences):.2f} median {statistics.median(confidences):.2f}, "
                      f"{rejected} under min_confidence {rec.min_confidence:g}; "
                      f"RSS {rss_mb():.0f} MB", flush=True)
                print("\n".join(wrong[: args.show]))
    if args.speech:
        rec = WhisperRecognizer(model_dir, home)
        for row in labels("speech"):
            t = rec.transcribe(read_wav(FIXTURES / "speech" / row["file"]).tobytes())
            print(f"  speech {row['file']}: {t.text[:70]!r} confidence {t.confidence:.2f} rejected {t.rejected}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
