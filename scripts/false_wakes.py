#!/usr/bin/env python3
"""False activations on ordinary speech in loud pink noise: the noise-adaptive wake threshold vs a fixed one.

The speech is the development set's ordinary sentences (scripts/tune_decoder.py, generated and cached on
first use) and the fixtures' ordinary speech (real people and TTS), end to end with 0.5 s gaps. Every
condition streams the same audio through both policies and both bundled wake words.

    .venv/bin/python scripts/false_wakes.py                  # clean, 10 dB and 5 dB
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
import tune_decoder  # noqa: E402  (the development set)

from assistant.adapters.openwakeword import OpenWakeWordScorer, resolve_wake_words  # noqa: E402
from assistant.audio import frames, read_wav  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.evaluate.noise import mix  # noqa: E402
from assistant.wake import WakePolicy, level_dbfs  # noqa: E402

WAKE_WORDS = ("hey_jarvis", "alexa")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snr", type=float, nargs="*", default=[10.0, 5.0], help="noise conditions (dB SNR)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/assistant-dev-set"))
    args = ap.parse_args(argv)
    settings = load_settings()
    gap = np.zeros(8000, np.int16)
    clips = [pcm for _, _, pcm in tune_decoder.others(args.cache)]
    clips += [read_wav(f) for f in sorted((ROOT / "tests/fixtures/speech").glob("*.wav"))]
    speech = np.concatenate([x for pcm in clips for x in (pcm, gap)])
    print(f"{len(speech) / 16000 / 60:.1f} min of ordinary speech; wake words {', '.join(WAKE_WORDS)}")
    scorer = OpenWakeWordScorer(resolve_wake_words(list(WAKE_WORDS), settings.models_dir), settings.models_dir)
    wake = dataclasses.replace(settings.wake, wake_words=WAKE_WORDS)
    policies = {"fixed": dataclasses.replace(wake, noisy_threshold=wake.threshold), "adaptive": wake}
    for snr in [None, *args.snr]:
        audio = speech if snr is None else mix(speech, snr, 7)
        for name, config in policies.items():
            policy = WakePolicy(config)
            policy.reset(-scorer.reset())
            hits, thresholds = [], []
            for frame in frames(audio):
                hit = policy.feed(scorer.score(frame), level_dbfs(frame.pcm))
                thresholds.append(policy.threshold())
                if hit:
                    hits.append(f"{hit.wake_word}@{hit.time_ms / 1000:.1f}s ({hit.score:.2f})")
            label = "clean" if snr is None else f"{snr:g} dB"
            print(f"  {label:>6} {name:>8}: median threshold {np.median(thresholds):.2f}, "
                  f"false activations {len(hits)} {' '.join(hits)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
