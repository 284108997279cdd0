#!/usr/bin/env python3
"""Tune the PocketSphinx decoder on a *development* set, never on eval/.

The development set is generated here and not committed: sentences sampled at random from every sentence
template (hassil's sampler, seeded), spoken by voices that are in neither tests/fixtures/ nor eval/
(other espeak-ng accents and variants, Piper's joe slower, hibari's heart slower). Each take is cached
under --cache. Every configuration decodes the same clips clean and with pink noise at 10 dB, and the
script prints transcript-exact rates and decoding cost side by side.

    .venv/bin/python scripts/tune_decoder.py                     # the built-in grid
    .venv/bin/python scripts/tune_decoder.py --only base,lw3     # some rows of it
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import statistics
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
import voices as vx  # noqa: E402  (voices, trimming, levelling, noise floor)

from assistant.config import load_settings  # noqa: E402
from assistant.evaluate.noise import mix  # noqa: E402
from assistant.intents.grammar import grammar_for  # noqa: E402
from assistant.app import load_language  # noqa: E402

DEV_ESPEAK = {"espeak-en-gb-x-gbclan-165": ("en-gb-x-gbclan", 165), "espeak-en-029-160": ("en-029", 160),
              "espeak-en-us-nyc-170": ("en-us-nyc", 170), "espeak-en-gb-x-gbcwmd-160": ("en-gb-x-gbcwmd", 160),
              "espeak-en-us+m1-150": ("en-us+m1", 150), "espeak-en-gb+f4-170": ("en-gb+f4", 170)}
# Ordinary speech for the rejection side (different from the fixtures' and eval/'s sentences).
OTHER = ["can you tell me a joke about cats", "my brother is coming over for dinner on friday",
         "the weather looks nice this afternoon", "where did I leave my reading glasses",
         "please remind me to water the plants", "how many days until the summer holidays",
         "the kitchen smells like fresh bread", "I think the blue car belongs to our neighbour",
         "what time does the train leave tomorrow", "turn the page and keep reading",
         "we should paint the bedroom walls green", "the lamp in the shop window was expensive",
         "let me know when the laundry is done", "did anyone feed the dog this morning",
         "play some quiet music while I cook", "the living room needs a new sofa",
         # near misses: the assistant's own words in sentences that are not commands
         "the kitchen light is a bit too bright for me", "I left the blinds open all night",
         "my desk lamp broke last week", "turn left at the end of the street",
         "set the table for four people", "the purifier makes a funny noise",
         "open the door for the cat", "the bedroom is really warm tonight"]
DEV_VOICES = [*DEV_ESPEAK, "joe-slow", "heart-slow"]
vx.ESPEAK.update(DEV_ESPEAK)


def take(voice: str, text: str) -> np.ndarray:
    if voice == "joe-slow":
        return vx.level(vx.piper(text, length_scale=1.15))
    if voice == "heart-slow":
        return vx.level(vx.hibari(text, british=False, speed=0.92))
    return vx.synth(voice, text)


def sentences(language, grammar, n: int, seed: int) -> list[str]:
    """n in-grammar sentences: a template chosen at random, then one of its samples."""
    from hassil.sample import sample_expression

    pools = []
    for intent in language.intents.intents.values():
        for data in intent.data:
            for sentence in data.sentences:
                texts = [t for t in itertools.islice(sample_expression(
                    sentence.expression, language.slot_lists, language.intents.expansion_rules), 300)
                    if not re.search(r"\d|\bit\b", t) and grammar.fsm.accepts(t.split())]
                if texts:
                    pools.append(texts)
    rng = random.Random(seed)
    return [" ".join(rng.choice(rng.choice(pools)).split()) for _ in range(n)]


def clips(language, grammar, n: int, seed: int, cache: Path) -> list[tuple[str, str, np.ndarray]]:
    """(voice, text, int16 clip with 0.3 s of floor either side), cached as .npy."""
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for i, text in enumerate(sentences(language, grammar, n, seed)):
        voice = DEV_VOICES[i % len(DEV_VOICES)]
        path = cache / f"{zlib.crc32(f'{voice}|{text}'.encode()):08x}.npy"
        if not path.exists():
            pcm, _ = vx.assemble(f"{voice}|{text}", [take(voice, text)], lead_s=0.3, tail_s=0.3)
            np.save(path, pcm)
        out.append((voice, text, np.load(path)))
    return out


GRID = {
    "base": {},
    "lw3": {"lw": 3.0},
    "lw10": {"lw": 10.0},
    "wip0.2": {"wip": 0.2},
    "wip1": {"wip": 1.0},
    "topn8": {"topn": 8},
    "nofill": {"fsgusefiller": False},
    "beam-wide": {"beam": 1e-60, "wbeam": 1e-40, "pbeam": 1e-60},
    "silprob0.1": {"silprob": 0.1},
    "noalt": {"fsgusealtpron": False},
    "beam-wider": {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80},
    "wbeam-only": {"wbeam": 1e-40},
    "ns": {"_ns": True},
    "ns-wide": {"beam": 1e-60, "wbeam": 1e-40, "pbeam": 1e-60, "_ns": True},
    "b80": {"beam": 1e-80},
    "b80-w60": {"beam": 1e-80, "wbeam": 1e-60},
    "b100-w80": {"beam": 1e-100, "wbeam": 1e-80, "pbeam": 1e-100},
    "b80-w60-top2": {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80, "topn": 2},
    "p80-w60": {"pbeam": 1e-80, "wbeam": 1e-60},
    "b60-p80-w60": {"beam": 1e-60, "pbeam": 1e-80, "wbeam": 1e-60},
    "b80-p80-w60-hmm5k": {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80, "maxhmmpf": 5000},
    "flat": {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80, "_flat": True},
    "flat-wip0.3": {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80, "_flat": True, "wip": 0.3},
    "flat-wip0.1": {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80, "_flat": True, "wip": 0.1},
    "wide-m32": {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80, "_midpoint": -32.0,
                 "_phone": {"ds": 1}},
    "wide-m34": {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80, "_midpoint": -34.0,
                 "_phone": {"ds": 1}},
    "phone-b30": {"_phone": {"beam": 1e-30, "pbeam": 1e-30}},
    "phone-b20": {"_phone": {"beam": 1e-20, "pbeam": 1e-20}},
    # the phone loop scores every other frame by default (PHONE_LOOP_DS = 2)
    "phone-ds1": {"_phone": {"ds": 1}},
    "phone-ds1-m25.5": {"_phone": {"ds": 1}, "_midpoint": -25.5},  # as shipped before
    "phone-ds3": {"_phone": {"ds": 3}},
    "phone-ds2-topn2": {"_phone": {"topn": 2}},
    "nonrhotic": {"_nonrhotic": True},
    "warp0.9": {"beam": 1e-60, "wbeam": 1e-40, "pbeam": 1e-60, "warp_params": "0.9"},
    "warp1.1": {"beam": 1e-60, "wbeam": 1e-40, "pbeam": 1e-60, "warp_params": "1.1"},
}


def denoise(pcm: np.ndarray) -> np.ndarray:
    from speexdsp_ns import NoiseSuppression

    ns = NoiseSuppression.create(160, 16000)
    n = len(pcm) // 160 * 160
    return np.frombuffer(b"".join(ns.process(pcm[i:i + 160].tobytes()) for i in range(0, n, 160)), "<i2")


def others(cache: Path) -> list[tuple[str, str, np.ndarray]]:
    out = []
    for i, text in enumerate(OTHER):
        for voice in (DEV_VOICES[i % len(DEV_VOICES)], DEV_VOICES[(i + 3) % len(DEV_VOICES)]):
            path = cache / f"other-{zlib.crc32(f'{voice}|{text}'.encode()):08x}.npy"
            if not path.exists():
                np.save(path, vx.assemble(f"{voice}|{text}", [take(voice, text)], lead_s=0.3, tail_s=0.3)[0])
            out.append((voice, text, np.load(path)))
    return out


from assistant.adapters.pocketsphinx import fsg_transitions as original  # noqa: E402
from assistant.adapters.pocketsphinx import pronunciations as original_pron  # noqa: E402

VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}


def non_rhotic(phones: str) -> str:
    """British-style pronunciation: no R unless a vowel follows; unstressed ER becomes AH."""
    p = phones.split()
    out = []
    for i, ph in enumerate(p):
        nxt = p[i + 1] if i + 1 < len(p) else None
        if ph == "R" and (nxt is None or nxt.rstrip("012") not in VOWELS):
            continue
        out.append("AH0" if ph == "ER0" else ph)
    return " ".join(out)


def with_non_rhotic(words):
    found = original_pron(words)
    return {w: list(dict.fromkeys(forms + [non_rhotic(f) for f in forms])) for w, forms in found.items()}


def run(config: dict, data, conditions) -> dict:
    from assistant.adapters.pocketsphinx import PocketSphinxRecognizer

    language, grammar, items, negatives = data
    ns = config.pop("_ns", False)
    import assistant.adapters.pocketsphinx as ps

    ps.pronunciations = with_non_rhotic if config.pop("_nonrhotic", False) else original_pron
    if config.pop("_flat", False):
        def flat(fsm, residue_phones=0):
            start, final, arcs = original(fsm, residue_phones)
            return start, final, [(a, b, 1.0, w) for a, b, _, w in arcs]
        ps.fsg_transitions = flat
    else:
        ps.fsg_transitions = original
    from assistant.adapters.pocketsphinx import Rejection

    rejection = Rejection(midpoint=config.pop("_midpoint", Rejection.midpoint))
    phone = config.pop("_phone", {})
    rec = PocketSphinxRecognizer(grammar, rejection, check_rejection=config.pop("_rejection", False),
                                 options=config, phone_options=phone)
    row = {}
    for cond in conditions:
        exact, cpu, rejected = 0, [], 0
        for voice, text, pcm in items:
            audio = pcm if cond is None else mix(pcm, cond, zlib.crc32(f"{cond}:{voice}:{text}".encode()))
            if ns:
                audio = denoise(audio)
            t = rec.transcribe(audio.tobytes())
            exact += t.text == text and not t.rejected
            rejected += t.rejected
            cpu.append(t.cpu_s / max(t.audio_s, 1e-9))
        kept = 0
        for voice, text, pcm in negatives:
            audio = pcm if cond is None else mix(pcm, cond, zlib.crc32(f"{cond}:{voice}:{text}".encode()))
            kept += not rec.transcribe((denoise(audio) if ns else audio).tobytes()).rejected
        name = "clean" if cond is None else f"{cond:g} dB"
        row[name] = (exact / len(items), rejected / len(items), statistics.median(cpu),
                     1 - kept / max(len(negatives), 1))
    return row


def gaps(config: dict, grammar, items, negatives) -> int:
    """Score gaps of commands (clean and 10 dB) and of other speech; acceptance rates per cut-off."""
    from assistant.adapters.pocketsphinx import PocketSphinxRecognizer

    config.pop("_ns", None), config.pop("_flat", None)
    phone = config.pop("_phone", {})
    config.pop("_midpoint", None)
    rec = PocketSphinxRecognizer(grammar, options=config, phone_options=phone)
    cost = [0.0, 0.0]
    found = {"commands clean": [], "commands 10 dB": [], "other clean": [], "other 10 dB": []}
    for kind, clips_ in (("commands", items), ("other", negatives)):
        for cond in (None, 10.0):
            for voice, text, pcm in clips_:
                audio = pcm if cond is None else mix(pcm, cond, zlib.crc32(f"{cond}:{voice}:{text}".encode()))
                t0 = time.process_time()
                _, gap = rec.score_gap(audio.tobytes())
                cost[0] += time.process_time() - t0
                cost[1] += len(audio) / 16000
                found[f"{kind} {'clean' if cond is None else '10 dB'}"].append(-1e9 if gap is None else gap)
    print("| gap cut-off | " + " | ".join(f"{k} kept" for k in found) + " |")
    print("|---" * (len(found) + 1) + "|")
    for cut in range(-40, -13):
        print(f"| {cut} | " + " | ".join(f"{np.mean(np.array(v) >= cut):.1%}" for v in found.values()) + " |")
    print(f"both passes where the grammar reached its end: {cost[0] / cost[1]:.4f} CPU-s per audio-s")
    return 0


def dev_set_parser(doc: str) -> argparse.ArgumentParser:
    """The options every development-set script shares: which sentences, where their takes are cached,
    which rows to run."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--n", type=int, default=240, help="sentences in the development set")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/assistant-dev-set"))
    ap.add_argument("--only", help="comma-separated rows")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = dev_set_parser(__doc__)
    ap.add_argument("--rejection", action="store_true", help="also run the phone-loop rejection pass")
    ap.add_argument("--gaps", help="for this grid row: the rejection threshold's trade-off (gap per frame)")
    args = ap.parse_args(argv)
    settings = load_settings()
    language = load_language(settings)
    grammar = grammar_for(language)
    t0 = time.perf_counter()
    items = clips(language, grammar, args.n, args.seed, args.cache)
    negatives = others(args.cache) if args.rejection else []
    print(f"{len(items)} clips, {len(DEV_VOICES)} voices, ready in {time.perf_counter() - t0:.0f} s", flush=True)
    if args.gaps:
        return gaps(dict(GRID[args.gaps]), grammar, items, others(args.cache))
    rows = [r for r in GRID if not args.only or r in args.only.split(",")]
    other = " other speech rejected clean / 10 dB |" if args.rejection else ""
    print(f"| config | clean exact | clean rejected | 10 dB exact | 10 dB rejected | CPU-s/audio-s |{other}")
    print("|---|---|---|---|---|---|" + ("---|" if args.rejection else ""))
    for name in rows:
        config = dict(GRID[name], _rejection=args.rejection)
        r = run(config, (language, grammar, items, negatives), (None, 10.0))
        c, n = r["clean"], r["10 dB"]
        other = f" {c[3]:.1%} / {n[3]:.1%} |" if args.rejection else ""
        print(f"| {name} | {c[0]:.1%} | {c[1]:.1%} | {n[0]:.1%} | {n[1]:.1%} | {c[2]:.4f} |{other}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
