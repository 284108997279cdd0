#!/usr/bin/env python3
"""Wake de-duplication measured: each utterance reaches three satellites at different speech-to-noise ratios
and delays; how often exactly one turn is taken, and by the satellite with the best SNR.

One hub (the real recognizer and matcher, a dry-run dispatcher that counts its turns) on a free loopback
port; three satellites with their own wake model, VAD and listener, replaying in real time. For each
utterance, a command clip of tests/fixtures/turns gets, per satellite, pink noise at a random SNR and a
random extra delay (seeded).

    .venv/bin/python scripts/dedup_trial.py              # 24 utterances, ~4 minutes
    .venv/bin/python scripts/dedup_trial.py --n 40 --seed 7 --min-snr 8
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the test helpers: a served hub, satellites, noisy copies

from satellites import CountingDispatcher, ServedHub, noisy_copy, replay, start_satellite  # noqa: E402

from assistant.app import build_recognizer, load_language  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.devices.registry import load_registry  # noqa: E402
from assistant.dispatcher import Dispatcher  # noqa: E402
from assistant.hub import Hub  # noqa: E402

TURNS = ROOT / "tests" / "fixtures" / "turns"
NAMES = ("hall", "kitchen", "office")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24, help="utterances (default 24)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-snr", type=float, default=10.0, help="lowest SNR in dB (default 10)")
    ap.add_argument("--max-snr", type=float, default=35.0)
    ap.add_argument("--max-delay", type=float, default=0.4, help="largest extra delay in s (default 0.4)")
    ap.add_argument("--window-ms", type=int, default=1500)
    ap.add_argument("--log", action="store_true", help="the hub's and the arbiter's log lines on stderr")
    args = ap.parse_args(argv)
    if args.log:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(relativeCreated)8.0f %(threadName)s %(name)s %(message)s")
        for quiet in ("assistant.adapters.openwakeword", "assistant.adapters.pocketsphinx", "assistant.app"):
            logging.getLogger(quiet).setLevel(logging.WARNING)

    rng = random.Random(args.seed)
    clips = sorted(p for p in TURNS.glob("*__joe.wav") if not p.name.startswith(("wake_then", "no_wake", "multi")))
    settings = load_settings()
    language = load_language(settings)
    registry = load_registry(settings.config_dir)
    counting = CountingDispatcher(Dispatcher(registry, settings.mqtt, None))
    hub = Hub(registry, build_recognizer(settings, language, "grammar"), language, counting, "en",
              window_ms=args.window_ms)
    served = ServedHub(hub).start()
    sats = [start_satellite(served.port, n, "kitchen", settings) for n in NAMES]
    rows = []
    try:
        for s in sats:
            s.link.connected.wait(5)
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.n):
                clip = clips[i % len(clips)]
                snrs = [round(rng.uniform(args.min_snr, args.max_snr), 1) for _ in NAMES]
                delays = [round(rng.uniform(0, args.max_delay), 2) for _ in NAMES]
                wavs = []
                for j, name in enumerate(NAMES):
                    wavs.append(Path(tmp) / f"{i}_{name}.wav")
                    noisy_copy(clip, wavs[-1], snrs[j], delays[j], seed=1000 * i + j, lead_s=3.0)
                before = [(len(s.wakes), len(s.reports)) for s in sats]
                actions_before = len(counting.actions)
                start = time.monotonic() + 0.2
                for t in [replay(s, [w], start) for s, w in zip(sats, wavs)]:
                    t.join(60)
                woke = [len(s.wakes) - b[0] for s, b in zip(sats, before)]
                answered = [s.name for s, b in zip(sats, before) if len(s.reports) > b[1]]
                best = NAMES[snrs.index(max(snrs))]
                row = {"clip": clip.name, "snr_db": snrs, "delay_s": delays, "woke": woke,
                       "measured_snr_db": [s.wakes[-1].snr_db if w else None for s, w in zip(sats, woke)],
                       "turns": answered, "actions": len(counting.actions) - actions_before, "best": best,
                       "reports": {s.name: [(r.kind, r.text) for r in s.reports[b[1]:]] for s, b in zip(sats, before)
                                   if len(s.reports) > b[1]}}
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        for s in sats:
            s.link.close()
        served.close()
    one_turn = sum(len(r["turns"]) == 1 for r in rows)
    # chosen well: no satellite that woke had a better SNR (equal SNRs are equally good)
    single = [r for r in rows if len(r["turns"]) == 1]
    chose_best = sum(r["snr_db"][NAMES.index(r["turns"][0])] == max(s for s, w in zip(r["snr_db"], r["woke"]) if w)
                     for r in single)
    print(f"{len(rows)} utterances x 3 satellites: exactly one turn in {one_turn} ({100 * one_turn / len(rows):.0f} %), "
          f"at most one action in {sum(r['actions'] <= 1 for r in rows)}; the best-SNR satellite (of those that "
          f"woke) took it in {chose_best}/{len(single)} ({100 * chose_best / max(1, len(single)):.0f} %); all three "
          f"woke in {sum(all(r['woke']) for r in rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
