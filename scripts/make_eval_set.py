#!/usr/bin/env python3
"""Generate the committed evaluation set in eval/: WAVs + labels.jsonl for `assistant evaluate eval/`.

Voices and sentences are deliberately different from tests/fixtures/: other espeak-ng voices and rates,
hibari and Piper at other speeds, and new in-grammar phrasings of the commands. Each clip is "hey jarvis",
a short pause, then the command (or a special case: ordinary speech after the wake word, the wake word
alone, speech without the wake word, noise without speech).

The expected intents and MQTT messages are written here by hand, one entry per sentence, from the intent
schema and Zigbee2MQTT's payload conventions; nothing is computed by the matcher or the dispatcher.
`--check-labels` afterwards compares them with what the matcher and a dry-run dispatcher say for the
*text* (no audio), as a consistency check that never rewrites a label.

Only clean clips are stored; eval/conditions.json makes `assistant evaluate eval/` also run every clip
with pink noise mixed in at 10 dB and 0 dB SNR (fixed seed), so the noisy conditions are reproducible
without committing them. Synthesis reuses scripts/voices.py (voices, trimming, noise floor), as the
fixtures do.

    .venv/bin/python scripts/make_eval_set.py                 # writes eval/
    .venv/bin/python scripts/make_eval_set.py --check-labels  # hand labels vs matcher + dry-run dispatcher
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

import voices as vx  # noqa: E402  (voices, trimming, levelling, noise floor, clip layout)
from make_fixtures import slug  # noqa: E402
from wav_files import save  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "eval"
BASE = "zigbee2mqtt"

# New voices/rates (the fixtures use joe, heart, heart-gb, espeak en-us 140/160/180, en-gb 140/180,
# en-gb-scotland 150, en-us+f3 170).
vx.ESPEAK.update({"espeak-en-gb-scotland-175": ("en-gb-scotland", 175), "espeak-en-us+m3-175": ("en-us+m3", 175),
                  "espeak-en-gb-x-rp-180": ("en-gb-x-rp", 180), "espeak-en-us+f3-190": ("en-us+f3", 190)})
VOICES = ["heart-gb-fast", "joe-fast", "espeak-en-gb-scotland-175", "heart-fast", "espeak-en-us+m3-175",
          "espeak-en-gb-x-rp-180", "espeak-en-us+f3-190"]
PAUSES_S = (0.2, 0.3, 0.4)
# The scorer is primed, so no lead is needed for its warm-up; the tail lets the listener's silence end a turn.
# Short gaps and fast voices keep the whole set under 20 MB of 16 kHz int16.
LEAD_S, TAIL_S = 0.15, 0.5
LONG_TEXT = 36  # sentences longer than this are spoken by two voices instead of three (size budget)


@lru_cache(maxsize=None)
def take(voice: str, text: str) -> np.ndarray:
    """One levelled, trimmed take. Piper and hibari at other speeds than the fixtures; espeak via fixtures."""
    if voice == "joe-fast":
        return vx.level(vx.piper(text, length_scale=0.85))
    if voice in ("heart-gb-fast", "heart-fast"):
        british = voice == "heart-gb-fast"
        return vx.level(vx.hibari(text, british=british, speed=1.15 if british else 1.1))
    return vx.synth(voice, text)


# --- hand-written expectations --------------------------------------------------------------------
def on(name): return {"name": "HassTurnOn", "slots": {"name": name}}
def off(name): return {"name": "HassTurnOff", "slots": {"name": name}}
def light(name, **slots): return {"name": "HassLightSet", "slots": {"name": name, **slots}}
def msg(device, **payload): return {"topic": f"{BASE}/{device}/set", "payload": payload}


# (sentence, intents, messages). Brightness percent -> round(p * 254 / 100); steps without a known state
# go out as Zigbee2MQTT brightness_step_onoff up (an off lamp comes on) and brightness_step down (same
# rounding, halves to even); kelvin -> round(1e6 / K) mired,
# clamped to TRÅDFRI's 250-454; colours are the sRGB primaries' CIE xy (red 0.6401/0.33, green 0.3/0.6,
# blue 0.15/0.06); colour-temperature steps without a known state start from the middle of the range
# (352 mired = 2841 K): warmer -500 K -> 427 mired (+75), cooler +500 K -> 299 mired (-53), with state ON
# because a bulb that is off ignores colour (as absolute colours always had).
COMMANDS: list[tuple[str, list, list]] = [
    ("switch on the desk light", [on("desk_lamp")], [msg("desk_lamp", state="ON")]),
    ("switch off the bedside lamp", [off("bedroom_light")], [msg("bedroom_light", state="OFF")]),
    ("turn the floor lamp on", [on("living_room_lamp")], [msg("living_room_lamp", state="ON")]),
    ("turn the ceiling light off", [off("kitchen_light")], [msg("kitchen_light", state="OFF")]),
    ("turn on the coffee machine", [on("coffee_maker")], [msg("coffee_maker", state="ON")]),
    ("switch off the coffee maker", [off("coffee_maker")], [msg("coffee_maker", state="OFF")]),
    ("turn on the air purifier", [on("air_purifier")], [msg("air_purifier", fan_state="ON")]),
    ("close the window blinds", [off("living_room_blinds")], [msg("living_room_blinds", state="CLOSE")]),
    ("raise the blinds", [on("living_room_blinds")], [msg("living_room_blinds", state="OPEN")]),
    ("lower the living room blinds", [off("living_room_blinds")], [msg("living_room_blinds", state="CLOSE")]),
    ("open the blinds halfway", [{"name": "HassSetPosition", "slots": {"name": "living_room_blinds", "position": 50}}],
     [msg("living_room_blinds", position=50)]),
    ("set the blinds to seventy five percent",
     [{"name": "HassSetPosition", "slots": {"name": "living_room_blinds", "position": 75}}],
     [msg("living_room_blinds", position=75)]),
    ("move the window blinds to twenty percent",
     [{"name": "HassSetPosition", "slots": {"name": "living_room_blinds", "position": 20}}],
     [msg("living_room_blinds", position=20)]),
    ("stop the window blinds", [{"name": "HassStopMoving", "slots": {"name": "living_room_blinds"}}],
     [msg("living_room_blinds", state="STOP")]),
    ("set the desk lamp to thirty percent", [light("desk_lamp", brightness=30)],
     [msg("desk_lamp", state="ON", brightness=76)]),
    ("set the brightness of the bedroom light to eighty percent", [light("bedroom_light", brightness=80)],
     [msg("bedroom_light", state="ON", brightness=203)]),
    ("dim the kitchen light to ten percent", [light("kitchen_light", brightness=10)],
     [msg("kitchen_light", state="ON", brightness=25)]),
    ("set the floor lamp to half brightness", [light("living_room_lamp", brightness=50)],
     [msg("living_room_lamp", state="ON", brightness=127)]),
    ("turn the desk lamp to full brightness", [light("desk_lamp", brightness=100)],
     [msg("desk_lamp", state="ON", brightness=254)]),
    ("make the bedroom light brighter", [light("bedroom_light", brightness_step=25)],
     [msg("bedroom_light", brightness_step_onoff=64)]),
    ("make the kitchen light a bit dimmer", [light("kitchen_light", brightness_step=-10)],
     [msg("kitchen_light", brightness_step=-25)]),
    ("turn up the desk lamp", [light("desk_lamp", brightness_step=25)], [msg("desk_lamp", brightness_step_onoff=64)]),
    ("turn down the bedroom lamp", [light("bedroom_light", brightness_step=-25)],
     [msg("bedroom_light", brightness_step=-64)]),
    ("brighten the living room lamp by thirty percent", [light("living_room_lamp", brightness_step=30)],
     [msg("living_room_lamp", brightness_step_onoff=76)]),
    ("dim the bedroom light by fifty percent", [light("bedroom_light", brightness_step=-50)],
     [msg("bedroom_light", brightness_step=-127)]),
    ("brighten the kitchen light a little", [light("kitchen_light", brightness_step=10)],
     [msg("kitchen_light", brightness_step_onoff=25)]),
    ("set the bedroom light to cool white", [light("bedroom_light", color_temp_kelvin=4000)],
     [msg("bedroom_light", state="ON", color_temp=250)]),
    ("make the kitchen light warm white", [light("kitchen_light", color_temp_kelvin=2700)],
     [msg("kitchen_light", state="ON", color_temp=370)]),
    ("set the desk lamp to three thousand kelvin", [light("desk_lamp", color_temp_kelvin=3000)],
     [msg("desk_lamp", state="ON", color_temp=333)]),
    ("set the floor lamp to daylight", [light("living_room_lamp", color_temp_kelvin=5000)],
     [msg("living_room_lamp", state="ON", color_temp=250)]),
    ("make the bedroom light warmer", [light("bedroom_light", color_temp_step_kelvin=-500)],
     [msg("bedroom_light", state="ON", color_temp_step=75)]),
    ("make the desk lamp cooler", [light("desk_lamp", color_temp_step_kelvin=500)],
     [msg("desk_lamp", state="ON", color_temp_step=-53)]),
    ("set the living room lamp to blue", [light("living_room_lamp", color="blue")],
     [msg("living_room_lamp", state="ON", color={"x": 0.15, "y": 0.06})]),
    ("change the color of the bedroom light to green", [light("bedroom_light", color="green")],
     [msg("bedroom_light", state="ON", color={"x": 0.3, "y": 0.6})]),
    ("make the bedroom lamp red", [light("bedroom_light", color="red")],
     [msg("bedroom_light", state="ON", color={"x": 0.6401, "y": 0.33})]),
    ("turn off all the lights", [{"name": "HassTurnOff", "slots": {"domain": "light"}}],
     [msg(d, state="OFF") for d in ("kitchen_light", "desk_lamp", "living_room_lamp", "bedroom_light")]),
    ("turn on all the lights in the bedroom", [{"name": "HassTurnOn", "slots": {"area": "bedroom", "domain": "light"}}],
     [msg("bedroom_light", state="ON")]),
    ("switch off the kitchen lights", [{"name": "HassTurnOff", "slots": {"area": "kitchen", "domain": "light"}}],
     [msg("kitchen_light", state="OFF")]),
    ("turn off everything in the kitchen", [{"name": "HassTurnOff", "slots": {"area": "kitchen"}}],
     [msg("kitchen_light", state="OFF"), msg("coffee_maker", state="OFF")]),
    ("turn off the downstairs lights", [{"name": "HassTurnOff", "slots": {"group": "downstairs_lights"}}],
     [msg("downstairs_lights", state="OFF")]),
    ("set the downstairs lights to forty percent",
     [{"name": "HassLightSet", "slots": {"group": "downstairs_lights", "brightness": 40}}],
     [msg("downstairs_lights", state="ON", brightness=102)]),
    ("start the relax scene", [{"name": "HassTurnOn", "slots": {"scene": "relax"}}],
     [msg("downstairs_lights", scene_recall=2)]),
    ("activate movie time", [{"name": "HassTurnOn", "slots": {"scene": "movie_night"}}],
     [msg("downstairs_lights", scene_recall=1)]),
    ("set the air purifier to speed five", [{"name": "SetFanMode", "slots": {"name": "air_purifier", "fan_mode": "5"}}],
     [msg("air_purifier", fan_mode="5")]),
    ("put the purifier to auto mode", [{"name": "SetFanMode", "slots": {"name": "air_purifier", "fan_mode": "auto"}}],
     [msg("air_purifier", fan_mode="auto")]),
    ("set the fan speed of the air purifier to two",
     [{"name": "SetFanMode", "slots": {"name": "air_purifier", "fan_mode": "2"}}], [msg("air_purifier", fan_mode="2")]),
    ("is the desk lamp off",
     [{"name": "HassGetState", "slots": {"name": "desk_lamp", "attribute": "state", "expected": "OFF"}}], []),
    ("how bright is the living room lamp",
     [{"name": "HassGetState", "slots": {"name": "living_room_lamp", "attribute": "brightness"}}], []),
    ("what is the position of the blinds",
     [{"name": "HassGetState", "slots": {"name": "living_room_blinds", "attribute": "position"}}], []),
    ("forget it", [{"name": "HassNevermind", "slots": {}}], []),
    ("turn on the desk lamp and dim it", [on("desk_lamp"), light("desk_lamp", brightness_step=-25)],
     [msg("desk_lamp", state="ON"), msg("desk_lamp", brightness_step=-64)]),
    ("open the blinds and turn on the floor lamp", [on("living_room_blinds"), on("living_room_lamp")],
     [msg("living_room_blinds", state="OPEN"), msg("living_room_lamp", state="ON")]),
    ("turn on the kitchen light and set it to sixty percent",
     [on("kitchen_light"), light("kitchen_light", brightness=60)],
     [msg("kitchen_light", state="ON"), msg("kitchen_light", state="ON", brightness=152)]),
]
# Ordinary speech (several mention devices on purpose) said after the wake word: must be rejected.
CHAT = [
    "i bought a new desk lamp", "the kitchen is warmer than the bedroom", "we should open the windows",
    "my brother fixed the blinds", "the coffee here is better", "how was your trip to the sea",
    "the garden needs a lot of work", "she painted the living room blue", "let me know when dinner is ready",
    "the bus was full so i walked", "that film had a strange ending", "i can never find my keys",
]
NEAR_MISSES = ["hey travis turn on the light", "hey harvey open the blinds", "jarvis is a name from a film"]
NO_WAKE_COMMANDS = ["switch on the desk light", "turn off all the lights", "set the blinds to seventy five percent",
                    "activate movie time", "make the bedroom light brighter"]


# --- clips ----------------------------------------------------------------------------------------
def row(name, kind, voice, wake, spans, transcript=None, intents=(), messages=(), spoken=None) -> dict:
    w = spans.pop(0) if wake else None
    c = spans.pop(0) if spans else None
    r = {"file": name, "kind": kind, "voice": voice, "snr_db": None, "wake_word": "hey_jarvis" if wake else None,
         "transcript": transcript, "intents": list(intents), "messages": list(messages),
         "wake_start_s": w and w[0], "wake_end_s": w and w[1],
         "command_start_s": c and c[0], "command_end_s": c and c[1]}
    if spoken:
        r["spoken"] = spoken
    return r


def build() -> list[dict]:
    OUT.mkdir(exist_ok=True)
    for f in OUT.glob("*.wav"):
        f.unlink()
    rows, n = [], 0

    def add(name, kind, voice, parts, wake, **labels):
        nonlocal n
        pcm, spans = vx.assemble(name, parts, lead_s=LEAD_S, tail_s=TAIL_S)
        save(OUT / name, pcm)
        rows.append(row(name, kind, voice, wake, spans, **labels))
        n += 1

    hey = lambda v: take(v, "hey jarvis")  # noqa: E731
    for i, (text, intents, messages) in enumerate(COMMANDS):
        for j in range(2 if len(text) > LONG_TEXT else 3):
            v = VOICES[(i * 3 + j) % len(VOICES)]
            pause = PAUSES_S[(i + j) % len(PAUSES_S)]
            add(f"cmd{i + 1:02d}_{slug(text)[:40]}__{v}.wav", "command", v, [hey(v), pause, take(v, text)], True,
                transcript=text, intents=intents, messages=messages)
        print(f"{i + 1}/{len(COMMANDS)} {text}", file=sys.stderr)
    for i, text in enumerate(CHAT):
        for j in range(2):
            v = VOICES[(i * 2 + j + 3) % len(VOICES)]
            add(f"chat{i + 1:02d}__{v}.wav", "non_command", v, [hey(v), 0.35, take(v, text)], True, spoken=text)
    for i, v in enumerate(VOICES * 3):
        add(f"wakeonly{i + 1:02d}__{v}.wav", "wake_only", v, [hey(v)], True)
    for i, text in enumerate(NO_WAKE_COMMANDS + NEAR_MISSES + CHAT[:4]):
        v = VOICES[(i + 5) % len(VOICES)]
        add(f"nowake{i + 1:02d}_{slug(text)[:30]}__{v}.wav", "no_wake", v, [take(v, text)], False, spoken=text)
    for i, (color, level_db) in enumerate((("pink", -35), ("pink", -25), ("brown", -30), ("hum", -30))):
        name = f"noise{i + 1}_{color}.wav"
        rng = np.random.default_rng(vx.seed_of(name))
        x = vx.pink(2 * vx.SR, rng)
        if color == "brown":
            x = np.cumsum(rng.standard_normal(2 * vx.SR))
            x = (x - np.convolve(x, np.ones(800) / 800, "same")) / np.std(x - np.convolve(x, np.ones(800) / 800, "same"))
        elif color == "hum":  # mains hum with harmonics over a little pink noise
            t = np.arange(2 * vx.SR) / vx.SR
            x = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 2, 3, 4)) + 0.3 * x
            x /= np.sqrt(np.mean(x ** 2))
        x = x * 10 ** (level_db / 20) + rng.standard_normal(len(x)) * 10 ** (vx.FLOOR_DBFS / 20)
        save(OUT / name, vx.to_int16(x))
        rows.append(row(name, "noise", None, False, []))
    (OUT / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (OUT / "conditions.json").write_text(json.dumps(
        {"snr_db": [None, 10, 0], "noise": "pink", "seed": 2024}, indent=2) + "\n")
    return rows


def check_labels() -> int:
    """Hand labels vs the matcher and a dry-run dispatcher, on the text alone. Reports, never rewrites."""
    from assistant.config import load_settings
    from assistant.devices.registry import load_registry
    from assistant.dispatcher import Dispatcher
    from assistant.app import load_language
    from assistant.intents.matcher import match
    from assistant.messages import NotUnderstood

    settings = load_settings()
    language = load_language(settings)
    bad = 0
    for text, intents, messages in COMMANDS:
        got = match(language, text)
        got_intents = [] if isinstance(got, NotUnderstood) else [i.to_json() for i in got]
        got_messages = []
        if got_intents:
            result = Dispatcher(load_registry(settings.config_dir), settings.mqtt).dispatch(got)
            got_messages = [{"topic": m.topic, "payload": json.loads(m.payload)} for m in result.messages]
        for what, want, have in (("intents", intents, got_intents), ("messages", messages, got_messages)):
            if json.dumps(want, sort_keys=True) != json.dumps(have, sort_keys=True):
                bad += 1
                print(f"{text!r}: {what} differ\n  label: {want}\n  code:  {have}")
    for text in CHAT + NEAR_MISSES:
        got = match(language, text)
        if not isinstance(got, NotUnderstood):
            print(f"{text!r}: ordinary speech matches {[i.to_json() for i in got]}")
            bad += 1
    print(f"{len(COMMANDS)} commands, {len(CHAT) + len(NEAR_MISSES)} ordinary sentences, {bad} disagreement(s)")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check-labels", action="store_true", help="compare hand labels with matcher + dispatcher")
    args = ap.parse_args(argv)
    if args.check_labels:
        return check_labels()
    rows = build()
    size = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"{len(rows)} clips, {size / 1e6:.1f} MB in {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
