"""`assistant transcribe FILE...`: speech to text on WAV files, with the configured or a given engine."""

from __future__ import annotations

import argparse
import json
import sys

from . import report_bad_file, settings_from, wav_sources
from ..audio import read_wav
from ..errors import AudioError
from ..app import build_recognizer, load_language
from ..config import SPEECH_ENGINES

# One spoken command per file. The grammar search keeps state for every frame: 600 s of silence took 64 s
# and 783 MB, and a long recording of several commands cannot match one command anyway.
MAX_SECONDS = 60


def register(sub, common) -> None:
    p = sub.add_parser(
        "transcribe", parents=[common], help="turn WAV files of spoken commands, without the wake word, into text",
        description="Speech to text on WAV files that each hold one spoken command and nothing else: no wake "
                    "word. The grammar engines (auto, grammar, vosk, pocketsphinx) know only the commands' "
                    "sentences, so a clip that starts with 'hey jarvis' gets confidently wrong text; neural "
                    "(Whisper) writes down whatever was said. Each line names the engine that produced the text. "
                    "For recordings with the wake word use 'assistant run FILE --dry-run', which finds the wake "
                    "word and transcribes what follows it.")
    p.add_argument("files", nargs="+", metavar="FILE", help="WAV of one command without the wake word (60 s at most)")
    p.add_argument("--engine", choices=SPEECH_ENGINES, help="speech engine (default from config: auto); neural = Whisper "
                                                     "tiny.en ('assistant models fetch whisper-tiny-en')")
    p.add_argument("--json", action="store_true", help="one JSON object per file")
    p.set_defaults(func=run)


def _wake_finder(settings):
    """A function WAV samples -> the first wake word detection in them (or None), or None when the wake
    models are missing (then no clip is checked)."""
    from ..adapters.openwakeword import OpenWakeWordScorer, resolve_wake_words
    from ..audio import frames
    from ..errors import ModelError
    from ..wake import WakePolicy
    from .wake import detect

    try:
        scorer = OpenWakeWordScorer(resolve_wake_words(settings.wake.wake_words, settings.models_dir),
                                    settings.models_dir, settings.wake.warmup_ms)
    except ModelError:
        return None
    policy = WakePolicy(settings.wake)
    first = [True]

    def find(samples):
        primed_ms = scorer.prime_ms if first[0] else scorer.reset()
        first[0] = False
        policy.reset(-primed_ms)
        hits = detect(frames(samples), scorer, policy)
        return hits[0] if hits else None

    return find


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    recognizer = build_recognizer(settings, load_language(settings), args.engine)
    find_wake = _wake_finder(settings)
    failed: list[str] = []
    for path, source in wav_sources(args.files, failed, args.json):
        try:
            if source.duration_s > MAX_SECONDS:
                raise AudioError(f"{path}: {source.duration_s:.0f} s is longer than a command ({MAX_SECONDS} s at most);"
                                 " 'transcribe' takes one command per file, 'assistant run' a recording of many turns")
            samples = read_wav(path)
            pcm = samples.tobytes()
        except AudioError as exc:
            report_bad_file(path, exc, args.json)
            failed.append(path)
            continue
        t = recognizer.transcribe(pcm)
        wake = find_wake(samples) if find_wake is not None else None
        if wake is not None:  # the text is of the wake word and the command together: say so
            print(f"note: {path}: the wake word {wake.wake_word} is heard at {wake.time_ms / 1000:.2f} s; "
                  f"transcribe takes a command without it, so this text is unreliable; for a recording "
                  f"with the wake word use 'assistant run {path} --dry-run'", file=sys.stderr, flush=True)
        rtf = round(t.cpu_s / t.audio_s, 4) if t.audio_s else 0.0
        record = {"file": path, "text": "" if t.rejected else t.text, "engine": t.engine,
                  "confidence": round(t.confidence, 3), "rtf": rtf}
        if wake is not None:
            record["wake_word"] = {"wake_word": wake.wake_word, "time_s": round(wake.time_ms / 1000, 2)}
        if t.rejected:
            record["rejected"] = True
            record["heard"] = t.text
        if t.parts:  # the fused engine: what each engine heard, and why one was taken
            record["why"] = t.why
            record["engines"] = [{"engine": p.engine, "text": p.text, "confidence": round(p.confidence, 3)}
                                 for p in t.parts]
        if args.json:
            print(json.dumps(record), flush=True)
        else:
            shown = f"(not understood; closest: {t.text!r})" if t.rejected else t.text
            print(f"{path}: {shown}  [{t.engine}, confidence {t.confidence:.2f}, rtf {rtf}]", flush=True)
            for part in t.parts:
                print(f"    {part.engine}: {part.text!r} (confidence {part.confidence:.2f})", flush=True)
            if t.why:
                print(f"    {t.why}", flush=True)
    return 1 if failed else 0
