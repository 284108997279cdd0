#!/usr/bin/env python3
"""Score the language on dev/text/heldout/: typed requests written for this home by someone who never saw
the sentence templates, and chat that must not be acted on. Compared by what would happen to each device,
so "open the blinds" and "set the blinds to 100 percent" are one request.

    .venv/bin/python scripts/score_heldout.py                # counts
    .venv/bin/python scripts/score_heldout.py --show-misses  # every request not right, every chat line acted on

Each request and each result becomes a set of effects (device, what, value): on/off, brightness 0-100,
brightness step up/down, white warm/neutral/cool, colour, blind position (open = 100, closed = 0), purifier
mode, a question about a device. Lighting a lamp "at 30 percent" is one effect (brightness 30), whether it
was asked as "on" + "30 percent" or set at once. Right: the same effects. Wrong: any other change. A question
answered about the wrong device is counted as wrong too, though it changes nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "dev" / "text" / "heldout"


def _white(kelvin: int) -> str:
    return "warm" if kelvin <= 3000 else "cool" if kelvin >= 4000 else "neutral"


def _devices(registry, slots: dict) -> list[str]:
    if slots.get("name"):
        return [slots["name"]]
    if slots.get("group"):
        return [d.name for d in registry.members(slots["group"])]
    area = slots.get("area")
    area = area.replace("_", " ") if area else None
    domain = slots.get("domain")
    return sorted(d.name for d in registry.devices.values()
                  if (area is None or d.area == area) and (domain is None or d.kind == domain))


def effects_of_intents(registry, intents) -> frozenset:
    out = set()
    for intent in intents:
        slots, name = dict(intent.slots), intent.name
        if slots.get("scene"):
            out.add(("scene", slots["scene"], None))
            continue
        if name == "HassLightSet":
            slots.setdefault("domain", "light")  # a light setting for a room acts on its lights only
        for device in _devices(registry, slots):
            cover = registry.devices[device].kind == "cover"
            if name in ("HassTurnOn", "HassTurnOff"):
                on = name == "HassTurnOn"
                out.add((device, "position", 100 if on else 0) if cover else (device, "on", on))
            elif name == "HassSetPosition":
                out.add((device, "position", int(slots["position"])))
            elif name == "HassStopMoving":
                out.add((device, "stop", None))
            elif name == "SetFanMode":
                out.add((device, "fan", str(slots["fan_mode"])))
            elif name == "HassGetState":
                out.add((device, "query", None))
            elif name == "HassLightSet":
                if "brightness" in slots:
                    out.add((device, "brightness", int(slots["brightness"])))
                if "brightness_step" in slots:
                    out.add((device, "step", "up" if int(slots["brightness_step"]) > 0 else "down"))
                if "color_temp_kelvin" in slots:
                    out.add((device, "white", _white(int(slots["color_temp_kelvin"]))))
                if "color_temp_step_kelvin" in slots:
                    out.add((device, "white", "warm" if int(slots["color_temp_step_kelvin"]) < 0 else "cool"))
                if "color" in slots:
                    out.add((device, "color", slots["color"]))
            else:
                out.add((device, name, None))
    return _folded(out)


def effects_expected(registry, actions: list[dict]) -> frozenset:
    out = set()
    for a in actions:
        what = a["intent"]
        if what == "scene":
            out.add(("scene", a["scene"], None))
            continue
        if a.get("all"):
            slots = {"domain": "light"}
        elif a.get("area"):
            slots = {"area": a["area"], "domain": "light"}
        elif a["target"] in registry.groups:
            slots = {"group": a["target"]}
        elif a["target"] in registry.areas:
            slots = {"area": a["target"], "domain": "light"}
        else:
            slots = {"name": a["target"]}
        for device in _devices(registry, slots):
            cover = registry.devices[device].kind == "cover"
            if what in ("on", "off"):
                out.add((device, "position", 100 if what == "on" else 0) if cover else (device, "on", what == "on"))
            elif what == "brightness":
                out.add((device, "brightness", int(a["percent"])))
            elif what == "brightness_step":
                out.add((device, "step", a["direction"]))
            elif what == "color_temp":
                v = a["value"]
                out.add((device, "white", _white(int(v)) if isinstance(v, int) or str(v).isdigit() else v))
            elif what == "position":
                out.add((device, "position", int(a["percent"])))
            elif what == "fan":
                mode = str(a.get("speed", a.get("mode")))
                out.add((device, "on", False) if mode == "off" else (device, "fan", mode))
            elif what == "query":
                out.add((device, "query", None))
    return _folded(out)


def _folded(effects: set) -> frozenset:
    """ "on" beside a brightness for the same device is one change: the brightness."""
    lit = {d for d, what, _ in effects if what == "brightness"}
    return frozenset(e for e in effects if not (e[1] == "on" and e[2] is True and e[0] in lit))


def _load(path: Path) -> list[dict]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item.get("text"), str) or not isinstance(item.get("expect"), list):
                raise ValueError("expected {\"text\": ..., \"expect\": [...]}")
        except (ValueError, AttributeError) as exc:
            raise SystemExit(f"{path}:{n}: {exc}; fix the line (format in {path.parent / 'README.md'})")
        items.append(item)
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)
    from assistant.config import load_settings
    from assistant.intents import match
    from assistant.app import load_language

    settings = load_settings()
    language = load_language(settings)
    registry = language.home
    area = settings.satellite.area
    counts = {"right": 0, "wrong": 0, "not understood": 0}
    misses, times = [], []
    items = _load(DATA / "commands.jsonl")
    for item in items:
        started = time.perf_counter()
        got = match(language, item["text"], area)
        times.append((time.perf_counter() - started) * 1000)
        want = effects_expected(registry, item["expect"])
        if not isinstance(got, tuple):
            counts["not understood"] += 1
            misses.append(("NOT_UNDERSTOOD", item["text"], sorted(want, key=str), got.reason))
            continue
        have = effects_of_intents(registry, got)
        kind = "right" if have == want else "wrong"
        counts[kind] += 1
        if kind == "wrong":
            misses.append(("WRONG", item["text"], sorted(want, key=str), sorted(have, key=str)))
    acted, questions = [], 0
    chat = [line for line in (DATA / "chat.txt").read_text().splitlines() if line.strip()]
    for line in chat:
        got = match(language, line, area)
        if isinstance(got, tuple):
            if all(i.name in ("HassGetState", "HassNevermind") for i in got):
                questions += 1
            else:
                acted.append((line, [(i.name, dict(i.slots)) for i in got]))
    n = len(items)
    print(f"commands {n}: right {counts['right']} ({100 * counts['right'] / n:.1f} %), wrong {counts['wrong']} "
          f"({100 * counts['wrong'] / n:.1f} %), not understood {counts['not understood']}; "
          f"match median {statistics.median(times):.1f} ms")
    print(f"chat {len(chat)}: acted on {len(acted)} ({100 * len(acted) / len(chat):.1f} %), "
          f"answered as a question {questions}")
    if args.show_misses:
        for miss in misses:
            print(" ", *miss, sep="  ")
        for line, intents in acted:
            print("  ACTED", line, intents, sep="  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
