#!/usr/bin/env python3
"""Score the language on the text development corpora in dev/text/ (no audio, no broker).

    .venv/bin/python scripts/score_text.py                  # commands, chat, out-of-domain; both splits
    .venv/bin/python scripts/score_text.py --split tune     # only the tuning half
    .venv/bin/python scripts/score_text.py --ha-like        # also dev/text/ha_like.yaml on its own test home
    .venv/bin/python scripts/score_text.py --ha-like --split report --ha-like-file dev/text/heldout/ha_like.yaml
    .venv/bin/python scripts/score_text.py --show-misses    # every command not right, every chat line acted on
    .venv/bin/python scripts/score_text.py --json           # everything as one JSON object

A command is right when the intents come back in order with equal names, equal targets and equal values
(steps by their sign only); wrong when something else would be done; not understood when nothing would.
An item labelled "expect": "clarify" is right when nothing is done and wrong when anything is. Chat lines and
out-of-domain requests are counted as acted on when any intent comes back. See dev/text/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

REPO = Path(__file__).resolve().parent.parent
DEV = REPO / "dev" / "text"

TARGET_SLOTS = ("name", "group", "scene", "area", "domain")
STEP_SLOTS = ("brightness_step", "color_temp_step_kelvin")
VALUE_SLOTS = ("brightness", "color_temp_kelvin", "color", "position", "fan_mode", "attribute", "expected")
_SAME_WORD = {"closed": "close", "opened": "open"}  # HassGetState expected: "closed" and "CLOSE" are one state


# ---------------------------------------------------------------- the comparison (unit-tested on its own)

def _name_and_slots(intent: Any) -> tuple[str, Mapping[str, Any]]:
    if isinstance(intent, Mapping):
        return str(intent.get("name", "")), intent.get("slots") or {}
    return str(intent.name), getattr(intent, "slots", None) or {}


def target_of(slots: Mapping[str, Any]) -> dict[str, str]:
    """The target of an intent, normalised: a device, group or scene is the whole target (a `domain` or `area`
    given beside it changes nothing that is acted on); otherwise area and/or domain."""
    t = {k: str(slots[k]) for k in TARGET_SLOTS if slots.get(k) not in (None, "")}
    if "area" in t:
        t["area"] = t["area"].lower().replace("_", " ")
    if "domain" in t:
        t["domain"] = t["domain"].lower()
    named = {k: t[k] for k in ("name", "group", "scene") if k in t}
    return named or t


def _value(v: Any) -> Any:
    try:
        f = float(v)
        return int(f) if f == int(f) else f
    except (TypeError, ValueError):
        s = str(v).strip().lower()
        return _SAME_WORD.get(s, s)


def _sign(v: Any) -> int:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0
    return (f > 0) - (f < 0)


def same_target(name: str, e_slots: Mapping[str, Any], g_slots: Mapping[str, Any], resolve=None) -> bool:
    """Equal targets, or (with `resolve`, the home's registry) targets that act on the same devices: in a home
    whose kitchen has one light, "the kitchen lights" and "the kitchen light" are one action."""
    if target_of(e_slots) == target_of(g_slots):
        return True
    if resolve is None:
        return False
    a, b = resolve(name, e_slots), resolve(name, g_slots)
    return bool(a) and a == b


def intent_matches(expected: Any, got: Any, resolve=None) -> bool:
    """One intent: same name, same target, same values (step slots: same sign)."""
    e_name, e_slots = _name_and_slots(expected)
    g_name, g_slots = _name_and_slots(got)
    if e_name != g_name or not same_target(e_name, e_slots, g_slots, resolve):
        return False
    for slot in VALUE_SLOTS:
        if (slot in e_slots) != (slot in g_slots):
            return False
        if slot in e_slots and _value(e_slots[slot]) != _value(g_slots[slot]):
            return False
    for slot in STEP_SLOTS:
        if (slot in e_slots) != (slot in g_slots):
            return False
        if slot in e_slots and (_sign(e_slots[slot]) != _sign(g_slots[slot]) or _sign(e_slots[slot]) == 0):
            return False
    return True


def intents_of(result: Any) -> tuple:
    """The intents a match() result would act on: () for NotUnderstood (or anything that is not a sequence)."""
    if isinstance(result, (tuple, list)):
        return tuple(result)
    return ()


def judge(expected: Sequence | None, result: Any, alternatives: Iterable[Sequence] = (), resolve=None) -> str:
    """'right', 'wrong' or 'not_understood' for one labelled item.

    expected: the labelled intents in order; [] (or None) for an item that must not be acted on (clarify).
    result: what match() returned (a tuple of Intents, or NotUnderstood).
    alternatives: other intent lists that are equally right (rarely used; e.g. "open the blinds all the way"
        as HassTurnOn or as position 100).
    resolve: optional (intent name, slots) -> frozenset of device ids (see registry_resolver); targets that
        act on the same devices then count as equal.
    """
    got = intents_of(result)
    if not expected:
        return "wrong" if got else "right"
    if not got:
        return "not_understood"
    for option in (expected, *alternatives):
        if len(option) == len(got) and all(intent_matches(e, g, resolve) for e, g in zip(option, got)):
            return "right"
        if resolve is not None and _per_device(option, resolve) == _per_device(got, resolve) is not None:
            return "right"  # one intent for "the living room's blinds" = one per blind
    return "wrong"


def _per_device(intents: Sequence, resolve) -> frozenset | None:
    """Each intent split into one change per device it acts on: (intent, device, values), steps by sign."""
    out = set()
    for intent in intents:
        name, slots = _name_and_slots(intent)
        devices = resolve(name, slots)
        if devices is None:
            return None
        values = tuple(sorted((k, _sign(v) if k in STEP_SLOTS else _value(v)) for k, v in slots.items()
                              if k in VALUE_SLOTS + STEP_SLOTS))
        out |= {(name, d, values) for d in devices}
    return frozenset(out)


def registry_resolver(registry: Any):
    """(intent name, slots) -> the device ids a target acts on in this registry, or None when it is no
    device target (a scene, an unknown name). HassLightSet acts on lights only, so {area: kitchen} there is the
    kitchen's lights; HassTurnOn/Off with no target at all ("turn everything off") is every device."""
    devices = registry.devices

    def kind(d: Any) -> str:
        k = getattr(d, "kind", "")
        return str(getattr(k, "value", k)).lower()

    def is_light(d: Any) -> bool:
        return kind(d) == "light"

    def in_domain(d: Any, domain: str) -> bool:  # HA's domains for our kinds
        return domain == kind(d) or (domain, kind(d)) in (("fan", "purifier"), ("switch", "outlet"))

    def resolve(intent: str, slots: Mapping[str, Any]) -> frozenset | None:
        t = target_of(slots)
        if "scene" in t:
            return None
        if "name" in t:
            ids = {t["name"]} if t["name"] in devices else set()
        elif "group" in t:
            g = registry.groups.get(t["group"])
            ids = set(g.members) if g else set()
        else:
            ids = {n for n, d in devices.items()
                   if ("area" not in t or (d.area or "") == t["area"])
                   and ("domain" not in t or in_domain(d, t["domain"]))}
            if not t and intent not in ("HassTurnOn", "HassTurnOff", "HassLightSet"):
                return None
        if intent == "HassLightSet":
            ids = {n for n in ids if n in devices and is_light(devices[n])}
        return frozenset(ids) or None

    return resolve


# ---------------------------------------------------------------- loading the corpora

def load_commands(path: Path) -> list[dict]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            item = json.loads(line)
            item["line"] = n
            items.append(item)
    return items


def load_chat(path: Path) -> list[dict]:
    lines = [l.strip() for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
    half = len(lines) // 2
    return [{"text": t, "line": i + 1, "split": "tune" if i < half else "report"} for i, t in enumerate(lines)]


def load_ha_like(path: Path) -> tuple[Path, list[dict]]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    home = (path.parent / doc["home"]).resolve()
    items = []
    for block in doc["tests"]:
        for text in block["sentences"]:
            items.append({"text": text, "intents": block.get("intents") or [], "expect": block.get("expect"),
                          "context_area": block.get("context_area"), "split": block["split"],
                          "kind": block.get("kind", "")})
    return home, items


# ---------------------------------------------------------------- running the matcher

class Runner:
    def __init__(self, language: Any, match: Any):
        self.language, self.match = language, match
        try:
            self.takes_area = "area" in inspect.signature(match).parameters
        except (TypeError, ValueError):
            self.takes_area = False
        self.ms: list[float] = []
        registry = getattr(language, "home", None)
        self.resolve = registry_resolver(registry) if registry is not None else None

    def __call__(self, text: str, area: str | None = None) -> tuple[Any, float]:
        kwargs = {"area": area} if (self.takes_area and area) else {}
        t0 = time.perf_counter()
        try:
            result = self.match(self.language, text, **kwargs)
        except Exception as exc:  # a crash is reported as not understood with the reason, and counted
            result = _Crash(text, f"{type(exc).__name__}: {exc}")
        ms = (time.perf_counter() - t0) * 1000
        self.ms.append(ms)
        return result, ms


class _Crash:
    out_of_domain = None

    def __init__(self, text: str, reason: str):
        self.text, self.reason, self.crash = text, reason, True


def load_default_language():
    from assistant.config import load_settings
    from assistant.intents import match
    from assistant.app import load_language

    t0 = time.perf_counter()
    language = load_language(load_settings())
    return language, match, (time.perf_counter() - t0) * 1000


def load_home_language(home: Path):
    """The project's language, with the registry of another home: a copy of config/ whose devices.yaml is
    replaced, so whatever load_language reads from the config folder (sentences, settings) is the same."""
    from assistant.config import DEFAULT_CONFIG_DIR, load_settings
    from assistant.intents import match
    from assistant.app import load_language

    tmp = Path(tempfile.mkdtemp(prefix="ha_like_home_"))
    try:
        config = tmp / "config"
        shutil.copytree(DEFAULT_CONFIG_DIR, config)
        shutil.copy(home / "devices.yaml", config / "devices.yaml")
        settings = load_settings(config)
        if getattr(getattr(settings, "satellite", None), "area", None) is not None:  # an area of the other home
            settings = dataclasses.replace(settings, satellite=dataclasses.replace(settings.satellite, area=None))
        t0 = time.perf_counter()
        language = load_language(settings)
        return language, match, (time.perf_counter() - t0) * 1000
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def describe(result: Any) -> Any:
    got = intents_of(result)
    if got:
        out = []
        for i in got:
            name, slots = _name_and_slots(i)
            d = {"name": name, "slots": dict(slots)}
            for extra in ("source", "confidence"):
                if getattr(i, extra, None) is not None:
                    d[extra] = getattr(i, extra)
            out.append(d)
        return out
    return {"not_understood": getattr(result, "reason", repr(result)),
            "out_of_domain": getattr(result, "out_of_domain", None)}


def _sources(result: Any) -> list[str]:
    return [str(getattr(i, "source", "?")) for i in intents_of(result)]


# ---------------------------------------------------------------- scoring

def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:5.1f}%" if d else "    -"


def _timing(ms: list[float]) -> dict:
    if not ms:
        return {"median_ms": None, "p95_ms": None}
    s = sorted(ms)
    return {"median_ms": round(statistics.median(s), 2), "p95_ms": round(s[min(len(s) - 1, int(0.95 * len(s)))], 2)}


def score_commands(run: Runner, items: list[dict]) -> list[dict]:
    rows = []
    for it in items:
        result, ms = run(it["text"], it.get("context_area"))
        clarify = it.get("expect") == "clarify" or not it.get("intents")
        want, alts = ([] if clarify else it["intents"]), it.get("alternatives", ())
        verdict = judge(want, result, alts, run.resolve)
        exact = verdict == "right" and judge(want, result, alts) == "right"
        rows.append({"text": it["text"], "split": it["split"], "clarify": clarify, "verdict": verdict,
                     "same_devices_only": verdict == "right" and not exact,
                     "expected": it.get("intents", []), "got": describe(result), "ms": ms,
                     "sources": _sources(result), "crash": getattr(result, "crash", False),
                     "context_area": it.get("context_area"), "style": it.get("style", it.get("kind", ""))})
    return rows


def score_unlabelled(run: Runner, items: list[dict]) -> list[dict]:
    rows = []
    for it in items:
        result, ms = run(it["text"])
        acted = bool(intents_of(result))
        # NotUnderstood.out_of_domain: True or what was asked for ("timers"); None/False/"" when not said
        ood = getattr(result, "out_of_domain", None)
        rows.append({"text": it["text"], "split": it["split"], "acted": acted,
                     "ood_field": hasattr(result, "out_of_domain") and not getattr(result, "crash", False),
                     "out_of_domain": (ood if ood not in (None, False, "") else False) if not acted else False,
                     "got": describe(result), "ms": ms, "category": it.get("category"),
                     "crash": getattr(result, "crash", False)})
    return rows


def summarize_commands(rows: list[dict]) -> dict:
    cmd = [r for r in rows if not r["clarify"]]
    cla = [r for r in rows if r["clarify"]]
    count = lambda rs, v: sum(r["verdict"] == v for r in rs)  # noqa: E731
    srcs = [s for r in cmd if r["verdict"] == "right" for s in r["sources"]]
    return {"commands": len(cmd), "right": count(cmd, "right"),
            "right_by_same_devices": sum(r.get("same_devices_only", False) for r in cmd),
            "wrong": count(cmd, "wrong"),
            "not_understood": count(cmd, "not_understood"), "clarify": len(cla),
            "clarify_acted": count(cla, "wrong"), "crashes": sum(r["crash"] for r in rows),
            "right_by_source": {s: srcs.count(s) for s in sorted(set(srcs))},
            **_timing([r["ms"] for r in rows])}


def summarize_unlabelled(rows: list[dict]) -> dict:
    return {"lines": len(rows), "acted": sum(r["acted"] for r in rows),
            "recognised_ood": sum(bool(r["out_of_domain"]) for r in rows if not r["acted"]),
            "ood_field": any(r.get("ood_field") for r in rows),
            "crashes": sum(r["crash"] for r in rows), **_timing([r["ms"] for r in rows])}


def by_split(rows: list[dict], splits: list[str], summarize) -> dict:
    out = {s: summarize([r for r in rows if r["split"] == s]) for s in splits}
    if len(splits) > 1:
        out["all"] = summarize(rows)
    return out


def print_tables(report: dict) -> None:
    print(f"language: {report['language_load_ms']:.0f} ms to load; match() takes area: {report['takes_area']}")
    if report.get("ha_like_load_ms") is not None:
        print(f"ha_like home language: {report['ha_like_load_ms']:.0f} ms to load")
    print()
    head = f"{'file':<20}{'split':<8}{'n':>5}{'right':>14}{'wrong':>12}{'not und.':>12}{'clarify acted':>15}" \
           f"{'med ms':>8}{'p95 ms':>8}"
    print(head)
    print("-" * len(head))
    for name in ("commands", "ha_like"):
        for split, s in report.get(name, {}).get("summary", {}).items():
            n = s["commands"]
            print(f"{name:<20}{split:<8}{n:>5}{s['right']:>6} {_pct(s['right'], n)}{s['wrong']:>5} "
                  f"{_pct(s['wrong'], n)}{s['not_understood']:>5} {_pct(s['not_understood'], n)}"
                  f"{s['clarify_acted']:>7}/{s['clarify']:<7}{_fmt(s['median_ms'])}{_fmt(s['p95_ms'])}")
    print()
    head2 = f"{'file':<20}{'split':<8}{'n':>5}{'acted on':>14}{'recognised OOD':>18}{'med ms':>8}{'p95 ms':>8}"
    print(head2)
    print("-" * len(head2))
    for name in ("chat", "out_of_domain"):
        for split, s in report.get(name, {}).get("summary", {}).items():
            n = s["lines"]
            ood = f"{s['recognised_ood']:>5} {_pct(s['recognised_ood'], n)}" if s["ood_field"] else "  (no field)"
            print(f"{name:<20}{split:<8}{n:>5}{s['acted']:>6} {_pct(s['acted'], n)}{ood:>18}"
                  f"{_fmt(s['median_ms'])}{_fmt(s['p95_ms'])}")
    srcs = {k: v["summary"].get("all", next(iter(v["summary"].values())))["right_by_source"]
            for k, v in report.items() if k in ("commands", "ha_like")}
    same = {k: v["summary"].get("all", next(iter(v["summary"].values())))["right_by_same_devices"]
            for k, v in report.items() if k in ("commands", "ha_like")}
    if any(same.values()):
        print("\nof the right commands, right only because the target acts on the same devices in that home "
              "(e.g. 'the kitchen lights' heard as the kitchen's one light): "
              + "; ".join(f"{k} {v}" for k, v in same.items()))
    if any(srcs.values()):
        print("\nintents of the right commands, by source: " + "; ".join(f"{k} {v}" for k, v in srcs.items()))
    crashes = sum(s["crashes"] for k in ("commands", "chat", "out_of_domain", "ha_like") if k in report
                  for s in [report[k]["summary"].get("all", next(iter(report[k]["summary"].values())))])
    if crashes:
        print(f"\nmatch() raised on {crashes} sentences (counted as not understood); see --show-misses")


def _fmt(v: float | None) -> str:
    return f"{v:>8.2f}" if v is not None else f"{'-':>8}"


def print_misses(report: dict) -> None:
    for name in ("commands", "ha_like"):
        rows = report.get(name, {}).get("rows", [])
        bad = [r for r in rows if r["verdict"] != "right"]
        if not bad:
            continue
        print(f"\n== {name}: {len(bad)} not right")
        for r in bad:
            want = "clarify (nothing done)" if r["clarify"] else json.dumps(r["expected"])
            ctx = f" [area: {r['context_area']}]" if r.get("context_area") else ""
            print(f"  [{r['split']}] {r['verdict'].upper():<15} {r['text']!r}{ctx}\n"
                  f"      want {want}\n      got  {json.dumps(r['got'])}")
    for name in ("chat", "out_of_domain"):
        rows = report.get(name, {}).get("rows", [])
        acted = [r for r in rows if r["acted"] or r["crash"]]
        if acted:
            print(f"\n== {name}: {len(acted)} acted on")
            for r in acted:
                print(f"  [{r['split']}] {r['text']!r}\n      got  {json.dumps(r['got'])}")
        if name == "out_of_domain" and any(r.get("ood_field") for r in rows):
            plain = [r for r in rows if not r["acted"] and not r["out_of_domain"]]
            if plain:
                print(f"\n== {name}: {len(plain)} not acted on but not recognised as out of domain")
                for r in plain:
                    print(f"  [{r['split']}] ({r['category']}) {r['text']!r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=("tune", "report", "all"), default="all")
    ap.add_argument("--show-misses", action="store_true", help="list every miss and every line acted on")
    ap.add_argument("--json", action="store_true", help="print one JSON object (summaries and every row)")
    ap.add_argument("--ha-like", action="store_true", help="also score dev/text/ha_like.yaml on its own home")
    ap.add_argument("--ha-like-file", type=Path, default=None,
                    help="another HA-like file (default dev/text/ha_like.yaml; the held-out one is "
                         "dev/text/heldout/ha_like.yaml, all of it split report)")
    ap.add_argument("--dev", type=Path, default=DEV, help="folder of the corpora (default dev/text)")
    args = ap.parse_args(argv)

    splits = ["tune", "report"] if args.split == "all" else [args.split]
    keep = lambda items: [i for i in items if i["split"] in splits]  # noqa: E731

    language, match, load_ms = load_default_language()
    run = Runner(language, match)
    report: dict[str, Any] = {"language_load_ms": round(load_ms, 1), "takes_area": run.takes_area, "split": args.split}

    rows = score_commands(run, keep(load_commands(args.dev / "commands.jsonl")))
    report["commands"] = {"summary": by_split(rows, splits, summarize_commands), "rows": rows}
    rows = score_unlabelled(run, keep(load_chat(args.dev / "chat.txt")))
    report["chat"] = {"summary": by_split(rows, splits, summarize_unlabelled), "rows": rows}
    rows = score_unlabelled(run, keep(load_commands(args.dev / "out_of_domain.jsonl")))
    report["out_of_domain"] = {"summary": by_split(rows, splits, summarize_unlabelled), "rows": rows}
    report["all_calls"] = _timing(run.ms)

    if args.ha_like:
        home, items = load_ha_like(args.ha_like_file or args.dev / "ha_like.yaml")
        ha_language, ha_match, ha_ms = load_home_language(home)
        ha_run = Runner(ha_language, ha_match)
        rows = score_commands(ha_run, keep(items))
        report["ha_like_load_ms"] = round(ha_ms, 1)
        report["ha_like"] = {"summary": by_split(rows, splits, summarize_commands), "rows": rows}
        if not ha_run.takes_area and any(r["context_area"] for r in rows):
            report["ha_like"]["note"] = "match() takes no area: context_area was not passed"

    if args.json:
        print(json.dumps(report, indent=1, default=str))
        return 0
    print_tables(report)
    if report.get("ha_like", {}).get("note"):
        print("ha_like: " + report["ha_like"]["note"])
    if args.show_misses:
        print_misses(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
