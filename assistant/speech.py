"""Speech to text behind one interface.

Engines: "grammar" takes Vosk when its model folder is present, else PocketSphinx (whose model ships in
its wheel), both limited to the grammar of the sentence templates; "neural" is Whisper tiny.en, open
vocabulary, prompted with the home's names; "fused" runs both on every command and decides
(assistant/fusion.py); "vosk" and "pocketsphinx" name one engine; "auto" is "fused" where the Whisper model
has been fetched, else "grammar". The choice is logged with its reason.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol, runtime_checkable

from .config import SPEECH_ENGINES, Settings, resolve_path
from .errors import ConfigError, UnknownWordsError
from .messages import Transcript

log = logging.getLogger(__name__)

ENGINES = SPEECH_ENGINES
WHISPER_MODEL = "whisper-tiny-en"  # the manifest's name for the neural engine's model folder


@runtime_checkable
class Recognizer(Protocol):
    name: str

    def transcribe(self, pcm: bytes) -> Transcript:
        """One whole utterance of 16 kHz mono int16 little-endian PCM."""
        ...

    def suppresses(self, pcm: bytes) -> bool:
        """Whether transcribe() would first suppress this audio's background (and so take longer)."""
        ...

    def accept(self, pcm: bytes) -> None:
        """Streaming form: feed audio as it arrives ..."""
        ...

    def finish(self) -> Transcript:
        """... then get the transcript of everything fed since the last finish()."""
        ...


def vosk_model_dir(settings: Settings) -> Path:
    """The configured folder, or by default the one `assistant models fetch vosk-en-us-small` fills in the
    models folder in use (--models DIR / ASSISTANT_MODELS_DIR / models/)."""
    if not settings.speech.vosk_model_dir:
        return settings.models_dir / "vosk-en-us-small"
    return resolve_path(settings, settings.speech.vosk_model_dir)


def choose_engine(settings: Settings, engine: str | None = None) -> tuple[str, str]:
    """(recognizer, why) for the requested engine (default: settings.speech.engine); the recognizer is
    vosk, pocketsphinx or whisper."""
    from .adapters.vosk import is_vosk_model  # light: only checks files, vosk itself loads lazily

    engine = engine or settings.speech.engine
    if engine not in ENGINES:
        raise ConfigError(f"unknown speech engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if engine == "neural":
        return "whisper", "requested neural"
    if engine == "fused":
        return "fused", "requested"
    if engine == "auto" and _whisper_present(settings):
        return "fused", f"Whisper model found in {settings.models_dir / WHISPER_MODEL}"
    if engine not in ("auto", "grammar"):
        return engine, "requested"
    model = vosk_model_dir(settings)
    if is_vosk_model(model):
        return "vosk", f"Vosk model found at {model}"
    from .models import models_command

    return "pocketsphinx", f"no Vosk model at {model} (run '{models_command('fetch vosk-en-us-small', settings.models_dir)}')"


def _whisper_present(settings: Settings) -> bool:
    # and its runtime: a lean install without the "neural" extra runs the grammar engine alone
    import importlib.util

    return (settings.models_dir / WHISPER_MODEL / "model.bin").is_file() \
        and importlib.util.find_spec("faster_whisper") is not None


def build_recognizer(settings: Settings, language, engine: str | None = None) -> Recognizer:
    """A recognizer for `language` (from intents.load_language) using the configured or given engine."""
    from .intents.grammar import grammar_for

    name, why = choose_engine(settings, engine)
    log.info("speech engine: %s (%s)", name, why)
    if name == "fused":
        from .fusion import FusedRecognizer
        from .intents.matcher import match

        area = settings.satellite.area
        return FusedRecognizer(build_recognizer(settings, language, "grammar"),
                               build_recognizer(settings, language, "neural"),
                               lambda text: match(language, text, area))
    if name == "whisper":
        from .adapters.whisper import WhisperRecognizer, vocabulary_prompt
        from .models import models_command, require

        return WhisperRecognizer(require(WHISPER_MODEL, settings.models_dir), vocabulary_prompt(language.home),
                                 min_confidence=settings.speech.min_confidence,
                                 verify=models_command("verify", settings.models_dir))
    grammar = grammar_for(language)
    if name == "vosk":
        from .adapters.vosk import VoskRecognizer

        return VoskRecognizer(vosk_model_dir(settings), grammar.phrases, settings.speech.min_confidence)
    from .adapters.pocketsphinx import PocketSphinxRecognizer, Rejection
    from .adapters.rnnoise import load_rnnoise

    denoiser = load_rnnoise() if settings.speech.denoise == "auto" else None
    try:
        return PocketSphinxRecognizer(grammar, Rejection(threshold=settings.speech.min_confidence),
                                      denoiser=denoiser)
    except UnknownWordsError as exc:
        from .intents.words import unknown_words_error

        raise unknown_words_error(language, exc.words, "PocketSphinx") from None
