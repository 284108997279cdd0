"""Choose the fused engine's rule on a development set; report any rule on any set.

Each clip of an evaluation-format set (labels.jsonl + WAVs) goes through the real loop (wake word, VAD,
listener, early decode) once, dry run, with both engines transcribing every utterance; the transcript pairs
are kept in a cache. Then each rule is replayed on the pairs: decide -> matcher -> planned MQTT messages,
compared with the labels as `assistant evaluate` does (a set of topic + parsed payload).

    .venv/bin/python scripts/tune_fusion.py dev/audio/tune --grid          # choose
    .venv/bin/python scripts/tune_fusion.py dev/audio/report               # report the chosen rule
    .venv/bin/python scripts/tune_fusion.py eval --snr 10                  # with pink noise mixed in

A wrong action is a clip that published something other than its label's messages (a command) or
anything at all (chat, wake word only, noise).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NEAR_K = 6  # sentences near Whisper's words scored per utterance, as the product does (fusion.near_sentences)
UNSCORED: list[str] = []  # texts a rule asked about that the cache has no score for (a stale cache)


def _pairs(dataset: Path, snr: float | None, cache: Path) -> list[dict]:
    if cache.exists():
        return json.loads(cache.read_text())
    from assistant.app import build
    from assistant.audio import frames, read_wav
    from assistant.config import load_settings
    from assistant.evaluate.noise import mix
    from assistant.messages import Transcript
    from assistant.app import build_recognizer, wake_recheck
    from assistant.fusion import own_rivals, rival_sentences, spelled

    settings = load_settings()
    settings = replace(settings, speech=replace(settings.speech, engine="grammar"))
    assistant = build(settings, None)
    grammar = assistant.recognizer
    neural = build_recognizer(settings, assistant.language, "neural")
    assistant.recheck = wake_recheck(settings, neural)  # as the fused engine has it

    from assistant.intents.grammar import grammar_for
    from assistant.fusion import near_sentences

    nearest = near_sentences(grammar_for(assistant.language).fsm, NEAR_K)

    class Both:
        name = "both"

        def suppresses(self, pcm):
            return grammar.suppresses(pcm)

        def transcribe(self, pcm):
            g, n = grammar.transcribe(pcm), neural.transcribe(pcm)
            if n.text:
                # every text a rule may ask Whisper about: its own words, the grammar's sentence, the
                # sentences near its words, its other readings (free and held to the grammar's words), the
                # sentences near those, and each of those with its action turned round
                own, own_rivals_ = own_rivals(n.text)
                others = neural.alternatives(pcm)
                readings = [spelled(text) for text in others]
                near_readings = [c for r in readings for c in nearest(r)]
                held_ = neural.held_readings(pcm, like=n.text)
                held_spelled = [spelled(text) for text in held_]
                near_held = [c for r in held_spelled for c in nearest(r)]
                asked = [n.text, *([g.text] if g.text else []), *nearest(n.text), *readings, *near_readings,
                         *held_spelled, *near_held]
                asked += [r for text in asked[1:] for r in rival_sentences(text)] + [own, *own_rivals_]
                asked = list(dict.fromkeys(asked))
                supports[(g.text, n.text)] = dict(zip(asked, neural.support(pcm, asked)))
                alternatives[(g.text, n.text)] = others
                held[(g.text, n.text)] = held_
            return Transcript(g.text, g.confidence, "both", g.rejected, g.audio_s, g.cpu_s + n.cpu_s, parts=(g, n))

    supports: dict[tuple[str, str], dict[str, float]] = {}
    alternatives: dict[tuple[str, str], list[str]] = {}
    held: dict[tuple[str, str], list[str]] = {}
    assistant.recognizer = Both()
    rows = []
    labels = [json.loads(line) for line in (dataset / "labels.jsonl").read_text().splitlines() if line.strip()]
    for i, label in enumerate(labels):
        samples = read_wav(dataset / label["file"])
        if snr is not None:
            samples = mix(samples, snr, i + 1)
        turns = list(assistant.pipeline(lambda event: None).run(frames(samples)))
        pairs = [[{"text": p.text, "confidence": p.confidence, "rejected": p.rejected, "engine": p.engine,
                   "cpu_s": p.cpu_s, "audio_s": p.audio_s} for p in t.transcript.parts]
                 for t in turns if t.transcript is not None and t.transcript.parts]
        for g, n in pairs:  # the neural model's scores of the texts above, by text, and its other readings
            n["support"] = supports.get((g["text"], n["text"]))
            n["alternatives"] = alternatives.get((g["text"], n["text"]), [])
            n["held"] = held.get((g["text"], n["text"]), [])
        rows.append({"file": label["file"], "kind": label["kind"], "messages": label.get("messages", []),
                     "pairs": pairs})
        print(f"\r{i + 1}/{len(labels)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    cache.write_text(json.dumps(rows))
    return rows


def _scored(scores: dict, text: str) -> float:
    if text not in scores:
        UNSCORED.append(text)
        return -np.inf
    return scores[text]


def _score(rows: list[dict], choose, language, dispatcher, area, show=None) -> dict:
    from assistant.intents import match
    from assistant.messages import NotUnderstood

    right = wrong = rejected = commands = acted_other = others = 0
    for row in rows:
        published = []
        for grammar, neural in row["pairs"]:
            text = choose(grammar, neural)
            if text is None:
                continue
            result = match(language, text, area)
            if isinstance(result, NotUnderstood):
                continue
            try:
                published += [(m.topic, json.loads(m.payload)) for m in dispatcher.dispatch(result).messages]
            except Exception:  # a device the plan refuses publishes nothing
                continue
        got = sorted(json.dumps(m, sort_keys=True) for m in published)
        want = sorted(json.dumps((m["topic"], m["payload"]), sort_keys=True) for m in row["messages"])
        if show is not None:
            show(row, "right" if got == want else "wrong" if got else "none")
        if row["kind"] == "command" and row["messages"]:
            commands += 1
            if got == want:
                right += 1
            elif got:
                wrong += 1
            else:
                rejected += 1
        else:
            others += 1
            acted_other += bool(got)
    clips = commands + others
    return {"commands": commands, "right": right, "wrong_commands": wrong, "rejected": rejected,
            "others": others, "others_acted": acted_other,
            "right_pct": round(100 * right / max(1, commands), 1),
            "wrong_pct_all_clips": round(100 * (wrong + acted_other) / max(1, clips), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--snr", type=float, default=None, help="mix pink noise in at this SNR (dB)")
    parser.add_argument("--grid", action="store_true", help="try a grid of rules (tuning sets only)")
    parser.add_argument("--grid-opposite", action="store_true",
                        help="with and without refusing commands the engines heard turned round (tuning sets only)")
    parser.add_argument("--grid-rival", action="store_true",
                        help="try margins for Whisper's own command over its rivals (tuning sets only)")
    parser.add_argument("--grid-alternatives", action="store_true",
                        help="with and without Whisper's other readings among the near sentences (tuning sets only)")
    parser.add_argument("--grid-verify-rival", action="store_true",
                        help="try margins for the grammar's verified sentence over its rivals (tuning sets only)")
    parser.add_argument("--grid-held", action="store_true",
                        help="with and without Whisper's readings held to the grammar's words (tuning sets only)")
    parser.add_argument("--grid-near", action="store_true",
                        help="try the rules for sentences near Whisper's words (tuning sets only)")
    parser.add_argument("--area", default=None)
    parser.add_argument("--cache", type=Path, default=None, help="the transcript cache (default: one per set in /tmp)")
    parser.add_argument("--show", action="store_true", help="each clip's outcome with the chosen rule")
    args = parser.parse_args()
    from assistant.config import load_settings
    from assistant.devices.registry import load_registry
    from assistant.dispatcher import Dispatcher
    from assistant.fusion import FusionRule, decide
    from assistant.intents import match
    from assistant.app import load_language, published_by
    from assistant.messages import Transcript

    tag = f"{args.dataset.resolve().as_posix().replace('/', '_')}-{args.snr}-held2"
    rows = _pairs(args.dataset, args.snr, args.cache or Path("/tmp") / f"fusion-pairs{tag}.json")
    settings = load_settings()
    language = load_language(settings)
    dispatcher = Dispatcher(load_registry(settings.config_dir), settings.mqtt, None)
    t = lambda d: Transcript(d["text"], d["confidence"], d["engine"], d["rejected"])  # noqa: E731

    memo: dict[str, object] = {}
    from assistant.intents.grammar import grammar_for
    from assistant.fusion import near_sentences
    near = near_sentences(grammar_for(language).fsm, NEAR_K)
    effect = published_by(settings)

    def understand(text: str):
        if text not in memo:
            memo[text] = match(language, text, args.area)
        return memo[text]

    def by_rule(rule):
        def choose(g, n):
            scores = n.get("support")
            support = (lambda texts: [_scored(scores, text) for text in texts]) if scores else None
            others = (lambda: n["alternatives"]) if "alternatives" in n else None
            held = (lambda: n["held"]) if "held" in n else None
            chosen, _ = decide(t(g), t(n), understand, rule, support, effect, near, others, held)
            return None if chosen.rejected or not chosen.text else chosen.text
        return choose

    engines = {
        "grammar alone": lambda g, n: None if g["rejected"] or not g["text"] else g["text"],
        "neural alone": lambda g, n: n["text"] or None,
        "fused (chosen rule)": by_rule(FusionRule()),
    }
    for name, choose in engines.items():
        print(f"{name:24} {_score(rows, choose, language, dispatcher, args.area)}")
    if args.show:
        _score(rows, engines["fused (chosen rule)"], language, dispatcher, args.area,
               lambda row, outcome: print(outcome, row["file"], [(n["text"], g["text"]) for g, n in row["pairs"]]))
    cpu = [sum(p["cpu_s"] for p in pair) for row in rows for pair in row["pairs"]]
    if cpu:
        print(f"CPU-s per decoded utterance (both engines): median {np.median(cpu):.3f}, p95 "
              f"{np.percentile(cpu, 95):.3f}")
    def one_setting(name: str, values) -> None:
        for value in values:
            s = _score(rows, by_rule(replace(FusionRule(), **{name: value})), language, dispatcher, args.area)
            print(f"{name}={value} right {s['right_pct']:5.1f}%  wrong(all clips) "
                  f"{s['wrong_pct_all_clips']:4.1f}%  {s}")

    if args.grid_opposite:
        one_setting("opposite_gap", (None, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 99.0))
    if args.grid_verify_rival:
        one_setting("verify_rival", (0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5))
    if args.grid_rival:
        one_setting("neural_rival", (None, 0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0))
    if args.grid_alternatives:
        for on, near_too, floor, margin in itertools.product((False, True), (False, True), (-2.25, -2.0, -1.5),
                                                              (1.0, 1.5)):
            if near_too and not on:
                continue
            s = _score(rows, by_rule(replace(FusionRule(), alternatives=on, near_readings=near_too, near_floor=floor,
                                             near_margin=margin)), language, dispatcher, args.area)
            print(f"alternatives={on} near_readings={near_too} near_floor={floor} near_margin={margin} right "
                  f"{s['right_pct']:5.1f}%  wrong(all clips) {s['wrong_pct_all_clips']:4.1f}%  {s}")
    if args.grid_held:
        for free, on, near_too, end, actions, floor, margin in itertools.product(
                (True, False), (False, True), (False, True), (False, True), (False, True), (-2.25, -2.0),
                (1.0, 1.5)):
            if (near_too or end or actions) and not on:
                continue
            s = _score(rows, by_rule(replace(FusionRule(), alternatives=free, held=on, held_near=near_too,
                                             held_end=end, held_actions=actions, near_floor=floor,
                                             near_margin=margin)), language, dispatcher, args.area)
            print(f"alternatives={free} held={on} held_near={near_too} held_end={end} held_actions={actions} "
                  f"near_floor={floor} "
                  f"near_margin={margin} right {s['right_pct']:5.1f}%  wrong(all clips) "
                  f"{s['wrong_pct_all_clips']:4.1f}%  {s}")
    if args.grid_near:
        for floor, margin, rival, gap in itertools.product((None, -1.0, -1.5, -2.0, -2.5), (0.5, 1.0, 1.5),
                                                           (0.0, 0.5), (None, 1.5)):
            s = _score(rows, by_rule(replace(FusionRule(), near_floor=floor, near_margin=margin, near_rival=rival,
                                             near_gap=gap)), language, dispatcher, args.area)
            print(f"near_floor={floor} near_margin={margin} near_rival={rival} near_gap={gap} right "
                  f"{s['right_pct']:5.1f}%  wrong(all clips) {s['wrong_pct_all_clips']:4.1f}%  {s}")
    if UNSCORED:
        print(f"{len(UNSCORED)} texts asked about had no score in the cache (stale: delete it and run again), "
              f"e.g. {UNSCORED[:3]}")
    if args.grid:
        for close, gmin, contested, gap, contested_too in itertools.product(
                (0.8, 1.01), (0.3, 0.6), (0.8, 1.0), (None, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0), (False, True)):
            if gap is None and contested_too:
                continue
            rule = FusionRule(0.5, close, gmin, 0.6, contested, gap, contested_too)
            s = _score(rows, by_rule(rule), language, dispatcher, args.area)
            print(f"close_words={close:<5} grammar_min={gmin:<4} contested_min={contested:<4} verify_gap={gap} "
                  f"verify_contested={contested_too:<1} right {s['right_pct']:5.1f}%  wrong(all clips) "
                  f"{s['wrong_pct_all_clips']:4.1f}%  {s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
