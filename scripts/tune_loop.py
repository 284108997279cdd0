#!/usr/bin/env python3
"""Tune the whole voice loop on a *development* set, never on eval/.

scripts/tune_decoder.py feeds the recognizer clean-cut commands. Here the same development sentences and
voices go through the real loop instead: "hey jarvis", a pause, the command, each clip with pink noise
mixed over all of it, through wake detection, the listener (VAD, look-back, hangover) and the recognizer,
in dry-run. So what the recognizer gets is what it gets live, wake-word residue and all.

    .venv/bin/python scripts/tune_loop.py                      # every row, clean, 10 dB, 5 dB
    .venv/bin/python scripts/tune_loop.py --only base,off --snr clean,10
"""

from __future__ import annotations

import time
import zlib
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
import voices as vx  # noqa: E402
import tune_decoder as td  # noqa: E402

from assistant.adapters.pocketsphinx import PHONE_LOOP_DS, RESIDUE_PHONES, Rejection  # noqa: E402
from assistant.app import build  # noqa: E402
from assistant.audio import frames  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.evaluate.noise import mix  # noqa: E402
from assistant.intents import match  # noqa: E402
from assistant.intents.grammar import grammar_for  # noqa: E402
from assistant.app import load_language  # noqa: E402
from assistant.messages import NotUnderstood  # noqa: E402

PAUSES_S = (0.1, 0.2, 0.3, 0.45, 0.6)  # between the wake word and the command: one breath to a pause

# name -> (speech settings changes, listener settings changes[, PocketSphinx adapter constants])
ROWS = {
    "base": ({}, {}),
    "no-residue": ({}, {}, {"RESIDUE_PHONES": 0}),
    "off-no-residue": ({"denoise": "off"}, {}, {"RESIDUE_PHONES": 0}),
    "off": ({"denoise": "off"}, {}),
    "no-blip-rule": ({}, {"min_speech_ms": 0}),
    "off-no-blip-rule": ({"denoise": "off"}, {"min_speech_ms": 0}),
    # listener.incomplete_hangover_ms (off by default): wait longer when the early decode fits no sentence
    "patient": ({}, {"incomplete_hangover_ms": 1200}),
    # when decoding starts in the hangover: where the noise is suppressed first (160 by default), or always
    "noisy-late": ({}, {"early_decode_noisy_ms": 0}),
    "noisy-80": ({}, {"early_decode_noisy_ms": 80}),
    "all-160": ({}, {"early_decode_ms": 160}),
    # the phone loop scoring every frame, with the rejection midpoints it had then
    "phone-ds1": ({}, {}, {"PHONE_LOOP_DS": 1,
                           "Rejection": partial(Rejection, midpoint=-25.5, suppressed_midpoint=-23.5)}),
}
SHIPPED = {"RESIDUE_PHONES": RESIDUE_PHONES, "PHONE_LOOP_DS": PHONE_LOOP_DS, "Rejection": Rejection}


def clips(language, grammar, n: int, seed: int, cache: Path) -> list[tuple[str, str, np.ndarray]]:
    """(voice, command text, int16 clip: lead, "hey jarvis", pause, command, tail)."""
    out = []
    for i, (voice, text, command) in enumerate(td.clips(language, grammar, n, seed, cache)):
        path = cache / f"hey-{zlib.crc32(voice.encode()):08x}.npy"
        if not path.exists():
            np.save(path, vx.assemble(f"{voice}|hey jarvis", [td.take(voice, "hey jarvis")], lead_s=0.7,
                                      tail_s=0.0)[0])
        hey = np.load(path)
        pause = vx.floor(int(PAUSES_S[i % len(PAUSES_S)] * vx.SR))
        tail = vx.floor(int(0.7 * vx.SR))
        command = command[int(0.3 * vx.SR):]  # the take's own lead-in; its 0.3 s tail stays
        parts = [hey.astype(np.float64) / 32768, pause, command.astype(np.float64) / 32768, tail]
        out.append((voice, text, vx.to_int16(np.concatenate(parts))))
    return out


def run(assistant, language, items, snr: float | None) -> dict:
    counts = dict(exact=0, intents=0, rejected=0, wrong=0, no_wake=0)
    cpu = time.process_time()
    for voice, text, pcm in items:
        audio = pcm if snr is None else mix(pcm, snr, zlib.crc32(f"{snr}:{voice}:{text}".encode()))
        turns = assistant.pipeline(lambda event: None, source=text).run(frames(audio))
        if not turns or turns[0].transcript is None:
            counts["no_wake" if not turns else "rejected"] += 1
            continue
        t = turns[0].transcript
        meant = [i.to_json() for i in match(language, text)]
        heard = match(language, t.text) if t.text and not t.rejected else NotUnderstood(t.text, "")
        counts["exact"] += t.text == text and not t.rejected
        counts["rejected"] += t.rejected or not t.text
        if not isinstance(heard, NotUnderstood):
            same = [i.to_json() for i in heard] == meant
            counts["intents"] += same
            counts["wrong"] += not same
    counts["cpu_s"] = time.process_time() - cpu
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = td.dev_set_parser(__doc__)
    ap.add_argument("--snr", default="clean,10,5", help="conditions: clean and/or SNRs in dB")
    args = ap.parse_args(argv)
    settings = load_settings()
    language = load_language(settings)
    items = clips(language, grammar_for(language), args.n, args.seed, args.cache)
    conditions = [None if c == "clean" else float(c) for c in args.snr.split(",")]
    print(f"{len(items)} clips through the loop; pink noise over the whole clip")
    print("| row | condition | transcript exact | intents exact | not understood | wrong intents | no wake |")
    print("|---|---|---|---|---|---|---|")
    for name in [r for r in ROWS if not args.only or r in args.only.split(",")]:
        speech, listener, *constants = ROWS[name]
        import assistant.adapters.pocketsphinx as ps

        for key, value in {**SHIPPED, **(constants[0] if constants else {})}.items():
            setattr(ps, key, value)
        row_settings = replace(settings, speech=replace(settings.speech, **speech),
                               listener=replace(settings.listener, **listener))
        assistant = build(row_settings, None)
        for snr in conditions:
            c = run(assistant, language, items, snr)
            n = len(items)
            print(f"| {name} | {'clean' if snr is None else f'{snr:g} dB'} | {c['exact'] / n:.1%} | "
                  f"{c['intents'] / n:.1%} | {c['rejected'] / n:.1%} | {c['wrong'] / n:.1%} | "
                  f"{c['no_wake'] / n:.1%} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
