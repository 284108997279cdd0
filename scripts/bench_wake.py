#!/usr/bin/env python3
"""Wake-word path cost: raw openWakeWord `Model.predict` vs `assistant wake`, same audio, one run.

Each side runs in its own child process (so peak RSS is its own), alternating, several rounds; medians of
CPU seconds per audio second are printed with the overhead ratio.

    .venv/bin/python scripts/bench_wake.py [--minutes 3] [--rounds 3] [--wake-word hey_jarvis]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_audio(minutes: float, out: Path) -> float:
    """Tile the committed WAV fixtures (speech, wake words, noise) into one long 16 kHz file."""
    import numpy as np

    from assistant.audio import read_wav, write_wav

    files = sorted((ROOT / "tests" / "fixtures").glob("**/*.wav")) + sorted((ROOT / "assistant" / "samples").glob("*.wav"))
    clips = []
    for f in files:
        try:
            clips.append(read_wav(f))
        except Exception:
            continue  # the bad-input fixtures
    pool = np.concatenate(clips)
    need = int(minutes * 60 * 16000)
    audio = np.resize(pool, need)
    write_wav(out, audio)
    return need / 16000


def child(kind: str, wav: str, wake_word: str) -> None:
    """Runs one side; reports the CPU time of streaming the audio alone (after imports and model load)."""
    if kind == "raw":
        from openwakeword.model import Model

        from assistant.audio import read_wav
        from assistant.models import load_manifest, require

        models = ROOT / "models"
        m = load_manifest()
        model = Model(wakeword_models=[str(require(wake_word, models, m))], inference_framework="onnx",
                      melspec_model_path=str(require("melspectrogram", models, m)),
                      embedding_model_path=str(require("embedding", models, m)))
        start = time.process_time()
        audio = read_wav(wav)
        for pos in range(0, len(audio) - 1279, 1280):
            model.predict(audio[pos:pos + 1280])
    else:
        # exactly what `assistant wake FILE` does: resolve, load + prime, read the WAV, score, apply policy
        from assistant.adapters.openwakeword import OpenWakeWordScorer, resolve_wake_words
        from assistant.audio import WavSource
        from assistant.commands.wake import detect
        from assistant.config import load_settings
        from assistant.wake import WakePolicy

        settings = load_settings()
        scorer = OpenWakeWordScorer(resolve_wake_words([wake_word], settings.models_dir), settings.models_dir)
        start = time.process_time()
        policy = WakePolicy(settings.wake)
        policy.reset(-scorer.prime_ms)
        detect(WavSource(wav), scorer, policy)
    print(json.dumps({"stream_cpu_s": time.process_time() - start}))


def measure(kind: str, wav: Path, wake_word: str) -> tuple[float, float]:
    """Run one side in a child; returns (streaming CPU seconds, the child's peak RSS in MB)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, __file__, "--child", kind, str(wav), "--wake-word", wake_word],
                                stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = status
        out.seek(0)
        err.seek(0)
        if status != 0:
            raise SystemExit(f"{kind} run failed: {err.read()[-2000:]}")
        stream = json.loads(out.read().strip().splitlines()[-1])["stream_cpu_s"]
    return stream, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--wake-word", default="hey_jarvis")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "WAV"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.wake_word)
        return
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "bench.wav"
        audio_s = build_audio(args.minutes, wav)
        results: dict[str, list[tuple[float, float]]] = {"raw": [], "ours": []}
        for _ in range(args.rounds):
            for kind in ("raw", "ours"):
                results[kind].append(measure(kind, wav, args.wake_word))
    print(f"audio: {audio_s:.0f} s, {args.rounds} rounds, wake word {args.wake_word}, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    med = {}
    for kind, label in (("raw", "openwakeword Model.predict loop"), ("ours", "assistant wake")):
        cpu = statistics.median(c for c, _ in results[kind]) / audio_s
        rss = max(r for _, r in results[kind])
        med[kind] = cpu
        print(f"  {label:34} {cpu:.4f} CPU-s per audio-s (streaming)   peak RSS {rss:.0f} MB")
    print(f"  overhead ratio (ours / raw): {med['ours'] / med['raw']:.3f}")


if __name__ == "__main__":
    main()
