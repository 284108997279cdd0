"""Vosk (Kaldi) streaming recognizer, limited to the phrases generated from the sentence templates.

Vosk's runtime grammar is a set of phrases it may chain in any order, plus a garbage word ("[unk]")
that absorbs speech matching none of them. Rejection: a garbage word in the result, or a low mean
per-word confidence (Vosk's own lattice posteriors). Word order is checked later by the matcher.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from ..errors import ModelError, SpeechError
from ..messages import SAMPLE_RATE, Transcript

log = logging.getLogger(__name__)

GARBAGE = ("[unk]", "<unk>", "<UNK>")


def is_vosk_model(path: Path) -> bool:
    return (path / "am" / "final.mdl").is_file() and (path / "conf" / "model.conf").is_file()


class VoskRecognizer:
    name = "vosk"

    def __init__(self, model_dir: Path | str, phrases: tuple[str, ...] | list[str], min_confidence: float = 0.5):
        model_dir = Path(model_dir)
        if not is_vosk_model(model_dir):
            raise ModelError(f"{model_dir}: not a Vosk model folder (needs am/final.mdl and conf/model.conf); "
                             "run 'assistant models fetch vosk-en-us-small' or set speech.vosk_model_dir")
        try:
            import vosk
        except ImportError:
            raise ModelError("Vosk is not installed; run: .venv/bin/pip install vosk") from None
        vosk.SetLogLevel(-1)
        started = time.perf_counter()
        try:
            self._model = vosk.Model(str(model_dir))
        except Exception as exc:  # vosk raises a bare Exception when Kaldi cannot read the files
            raise ModelError(f"{model_dir}: Vosk could not load the model ({exc})") from None
        self._vosk = vosk
        self._grammar = json.dumps(list(dict.fromkeys(phrases)) + ["[unk]"], ensure_ascii=False)
        self.min_confidence = min_confidence
        self._rec = None
        self._stream_bytes = 0
        self._stream_cpu = 0.0
        log.info("Vosk model %s loaded in %.1f s (%d grammar phrases)", model_dir, time.perf_counter() - started,
                 len(phrases))

    def _new_recognizer(self):
        rec = self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE, self._grammar)
        rec.SetWords(True)
        return rec

    # ------------------------------------------------------------------ streaming form

    def accept(self, pcm: bytes) -> None:
        cpu0 = time.process_time()
        if self._rec is None:
            self._rec = self._new_recognizer()
            self._stream_bytes, self._stream_cpu = 0, 0.0
        try:
            self._rec.AcceptWaveform(pcm)
        except Exception as exc:
            raise SpeechError(f"Vosk failed on streamed audio: {exc}") from None
        self._stream_bytes += len(pcm)
        self._stream_cpu += time.process_time() - cpu0

    def finish(self) -> Transcript:
        cpu0 = time.process_time()
        rec, self._rec = self._rec or self._new_recognizer(), None
        result = json.loads(rec.FinalResult())
        cpu = self._stream_cpu + time.process_time() - cpu0
        return self._transcript(result, self._stream_bytes / 2 / SAMPLE_RATE, cpu)

    # ------------------------------------------------------------------ one utterance

    def transcribe(self, pcm: bytes) -> Transcript:
        self._rec = None
        step = 2 * SAMPLE_RATE // 10  # 100 ms, as a live stream would arrive
        for pos in range(0, len(pcm), step):
            self.accept(pcm[pos:pos + step])
        return self.finish()

    def suppresses(self, pcm: bytes) -> bool:
        return False  # this path decodes the audio as it is

    def _transcript(self, result: dict, audio_s: float, cpu_s: float) -> Transcript:
        words = result.get("result") or []
        spoken = [w for w in words if w.get("word") not in GARBAGE]
        text = " ".join(w["word"] for w in spoken)
        garbage = len(spoken) != len(words)
        confidence = sum(float(w.get("conf", 0.0)) for w in spoken) / len(spoken) if spoken else 0.0
        if garbage:
            confidence = min(confidence, 0.1)  # some of the audio matched nothing in the grammar
        rejected = not text or garbage or confidence < self.min_confidence
        return Transcript(text, confidence, self.name, rejected, audio_s, cpu_s)
