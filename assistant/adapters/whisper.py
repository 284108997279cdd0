"""Whisper tiny.en through faster-whisper (CTranslate2): open-vocabulary English speech to text.

The only importer of faster_whisper and ctranslate2, both imported when the first recognizer is built.
The model is loaded once per process and shared by every recognizer on the same folder.

Whisper was trained on 30 s windows and faster-whisper pads every clip to that, so the encoder's cost is
that of 30 s of audio whatever the command's length. CTranslate2's encoder also takes fewer feature frames
(as whisper.cpp's audio_ctx does), and a command is decoded here from a 15 s window: the audio's own
features, then zeros, as faster-whisper pads. On the 72 command fixtures (scripts/whisper_bench.py, beam 1,
the home's names as prompt) that halves the CPU, median 0.22-0.28 against 0.54-0.57 CPU-s per command on a
busy two-core machine, at a lower word error rate (3.7 against 4.9 %). In a short window the decoder can
run past the end of the speech and say the command again ("turn on the kitchen light, turn on the kitchen
light, ..."): at 5 s on most fixture commands, at 10 s on a few, at 15 s on 2 of 72 (beam 5, no prompt).
A transcript that repeats itself is therefore decoded again in the 30 s window, and so is audio too long
for the short one.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import ModelError, SpeechError
from ..audio import WholeUtterance
from ..messages import SAMPLE_RATE, Transcript

log = logging.getLogger(__name__)

MODEL_NAME = "whisper-tiny-en"  # the manifest's name for the model folder
FRAMES_PER_S = 100  # Whisper's feature frames (10 ms hop)
FULL_WINDOW_FRAMES = 3000
WINDOW_FRAMES = 1500
MIN_TAIL_FRAMES = 500  # the window's zeros after the audio: less than this and the 30 s path is taken
MIN_AUDIO_S = 0.1
# Whisper's decoder holds 448 tokens and faster-whisper keeps half of them for the prompt.
MAX_PROMPT_TOKENS = 223
MAX_PROMPT_WORDS = 120
# A command runs at most some 3-4 words a second (about 5-6 tokens with punctuation and digits); a decoder
# that runs on far past that is repeating itself, so it is stopped there.
MAX_TOKENS_PER_S = 8
MIN_MAX_TOKENS = 12

# Texts scored in one decoder batch: the batch's whole-vocabulary logits stay with CTranslate2's allocator,
# and 8 at once grew the process by ~100 MB where 4 at once grew it by ~4 MB (scripts in docs/accuracy.md).
SCORED_AT_ONCE = 4
KEPT_ENCODINGS = 4  # the last utterances' encoder outputs, for support() after transcribe()
ALTERNATIVES = 5  # readings alternatives() gives: the beam of a second decode
HELD_SLACK = 6  # tokens a held reading may run past Whisper's own words (held_readings(like=...))

_models: dict[tuple, object] = {}
_models_lock = threading.Lock()


def vocabulary_prompt(registry) -> str:
    """The home's spoken names as Whisper's initial prompt: "Kitchen light, desk lamp, ..., bedroom."

    Whisper takes the prompt for text said just before, so names in it are spelled the home's way
    ("air purifier", not "air pure fire"). Each device's, group's and scene's first name comes first, then
    the areas, then the other names, so that a long list loses synonyms first (MAX_PROMPT_WORDS)."""
    first = [d.spoken for d in registry.devices.values()] + [g.spoken for g in registry.groups.values()] + \
            [s.spoken for s in registry.scenes.values()]
    others = [name for things in (registry.devices, registry.groups, registry.scenes)
              for thing in things.values() for name in thing.say[1:]]
    names: list[str] = []
    words = 0
    for name in [*first, *registry.areas, *others]:
        if name in names:
            continue
        words += len(name.split())
        if words > MAX_PROMPT_WORDS:
            break
        names.append(name)
    if not names:
        return ""
    text = ", ".join(names) + "."
    return text[0].upper() + text[1:]


def confidence_of(avg_logprob: float, no_speech_prob: float) -> float:
    """exp(avg_logprob) * (1 - no_speech_prob), in 0-1.

    exp(avg_logprob) is the geometric mean of the probabilities the decoder gave its own tokens (end of
    text included): how sure it was of the words. no_speech_prob is Whisper's own estimate, read at the
    start of decoding, that the window holds no speech at all. Both must be high for a confident transcript."""
    if not math.isfinite(avg_logprob):
        return 0.0
    return max(0.0, min(1.0, math.exp(min(0.0, avg_logprob)) * (1.0 - no_speech_prob)))


def repeats(text: str) -> bool:
    """Whether the words are one phrase said again, whole or begun ("turn on the light, turn on the light,
    turn", "set it to 50%. Set it"): how a decoder that ran past the end of the speech in a short window
    goes on. A false alarm ("the the") only costs a second decode."""
    words = "".join(c if c.isalnum() or c == "'" else " " for c in text.lower()).split()
    return any(len(words) - period >= min(period, 2) and all(w == words[i % period] for i, w in enumerate(words))
               for period in range(1, len(words)))


def _samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    top = logits.max()
    return logits - top - np.log(np.exp(logits - top).sum())


def written_as_whisper(text: str) -> str:
    """A sentence as Whisper writes one, so that support() scores the words, not the spelling: capital
    first letter, a full stop, numbers in digits and "percent" as "%" ("set the lamp to forty percent" ->
    "Set the lamp to 40%.")."""
    words = text.strip().split()
    out: list[str] = []
    i = 0
    while i < len(words):
        for n in (3, 2, 1):
            value = _NUMBER_VALUES.get(" ".join(words[i:i + n]).lower())
            if value is not None and i + n <= len(words):
                out.append(str(value))
                i += n
                break
        else:
            if words[i].lower() == "percent" and out and out[-1].isdigit():
                out[-1] += "%"
            else:
                out.append(words[i])
            i += 1
    sentence = " ".join(out)
    if not sentence:
        return ""
    sentence = sentence[0].upper() + sentence[1:]
    return sentence if sentence[-1] in ".?!" else sentence + "."


def _number_values() -> dict[str, int]:
    from ..numbers import number_words

    values = {}
    for n in [*range(0, 101), *range(200, 10000, 100)]:
        for spelled in number_words(n):
            values.setdefault(spelled, n)
    return values


_NUMBER_VALUES = _number_values()


def load_model(model_dir: Path, cpu_threads: int = 2, compute_type: str = "int8",
               verify: str = "assistant models verify"):
    """faster_whisper.WhisperModel for a local folder, loaded once per process (never downloads)."""
    key = (str(Path(model_dir).resolve()), cpu_threads, compute_type)
    with _models_lock:
        if key in _models:
            return _models[key]
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise ModelError(f"faster-whisper is not installed ({exc}); run scripts/setup.sh") from None
        started = time.perf_counter()
        try:
            model = WhisperModel(str(model_dir), device="cpu", compute_type=compute_type, cpu_threads=cpu_threads,
                                 num_workers=1, local_files_only=True)
        except Exception as exc:  # CTranslate2 and tokenizers raise their own types for damaged files
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelError(f"cannot load the Whisper model in {model_dir} ({reason[-160:]}); "
                             f"run '{verify}'") from None
        log.info("Whisper model %s loaded in %.2f s", model_dir, time.perf_counter() - started)
        _models[key] = model
        return model


class WhisperRecognizer(WholeUtterance):
    """Open-vocabulary: the text is what Whisper wrote (case, punctuation and digits kept: "Set the
    kitchen light to 50%."); the matcher normalises it. Never suppresses a background first."""

    name = "whisper"

    def __init__(self, model_dir: Path, prompt: str = "", *, min_confidence: float = 0.5, beam_size: int = 1,
                 cpu_threads: int = 2, window_frames: int | None = WINDOW_FRAMES,
                 verify: str = "assistant models verify", vocabulary: Sequence[str] = ()):
        """window_frames: the encoder window for a short command (None: always faster-whisper's 30 s);
        verify: the command that checks the model files, named when they cannot be loaded; vocabulary: the
        words held_readings() may write (the grammar's)."""
        self.model_dir = Path(model_dir)
        self.prompt = prompt.strip()
        self.min_confidence = min_confidence
        self.beam_size = beam_size
        self.window_frames = window_frames
        self._model = load_model(self.model_dir, cpu_threads, verify=verify)
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self._tokenizer = Tokenizer(self._model.hf_tokenizer, self._model.model.is_multilingual,
                                    task="transcribe", language="en")
        self._suppress = get_suppressed_tokens(self._tokenizer, [-1])  # Whisper's default: no symbols
        prompt_tokens = self._tokenizer.encode(" " + self.prompt) if self.prompt else []
        self._prompt = ([self._tokenizer.sot_prev, *prompt_tokens[-MAX_PROMPT_TOKENS:]] if prompt_tokens else []) + \
            [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]
        self._bare = [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]  # support(): no names
        self._lock = threading.Lock()
        self._encodings: dict[tuple, object] = {}
        self._held = self._all_but(vocabulary) if vocabulary else None

    def suppresses(self, pcm: bytes) -> bool:
        return False

    # ------------------------------------------------------------------ one utterance

    def transcribe(self, pcm: bytes) -> Transcript:
        audio_s = len(pcm) / 2 / SAMPLE_RATE
        cpu0 = time.process_time()  # the whole process: CTranslate2 decodes on threads of its own
        if audio_s < MIN_AUDIO_S:
            return Transcript("", 0.0, self.name, rejected=True, audio_s=audio_s)
        audio = _samples(pcm)
        max_new_tokens = max(MIN_MAX_TOKENS, int(MAX_TOKENS_PER_S * audio_s))
        try:
            decoded = None
            if self._fits_window(audio):
                decoded = self._decode_window(self._encoded(pcm, audio), max_new_tokens)
                if repeats(decoded[0]):
                    log.debug("whisper window decode repeats itself (%r): decoding the 30 s window", decoded[0])
                    decoded = None
            text, avg_logprob, no_speech_prob = decoded or self._decode_full(audio, max_new_tokens)
            if not any(c.isalnum() for c in text):
                text = ""  # "." or ". . ." is what Whisper writes for silence and noise
        except (RuntimeError, ValueError) as exc:
            raise SpeechError(f"Whisper failed on {audio_s:.1f} s of audio: {exc}") from None
        confidence = confidence_of(avg_logprob, no_speech_prob) if text else 0.0
        rejected = not text or confidence < self.min_confidence
        log.debug("whisper %r avg_logprob=%.3f no_speech=%.3f confidence=%.3f", text, avg_logprob, no_speech_prob,
                  confidence)
        return Transcript(text, confidence, self.name, rejected, audio_s, time.process_time() - cpu0)

    def support(self, pcm: bytes, texts: Sequence[str]) -> list[float]:
        """How well each text explains this audio, as Whisper hears it: the mean log-probability (<= 0) of
        the text's tokens and of the end of text after them, each token forced, in transcribe()'s window but
        without its prompt of names (every text is scored alike, and the decoder runs over a few tokens
        instead of a hundred more: 0.13 against 0.30 s wall for five texts on a busy machine). What was said
        scores near Whisper's own words; a text that differs in a word the audio does not hold, or stops
        before the speech does, scores far lower. The audio's encoding is reused from transcribe() when it
        saw the same audio."""
        audio = _samples(pcm)
        if not texts or len(audio) < MIN_AUDIO_S * SAMPLE_RATE:
            return [-math.inf] * len(texts)
        import ctranslate2

        try:
            encoded = np.asarray(self._encoded(pcm, audio, self.window_frames if self._fits_window(audio)
                                               else FULL_WINDOW_FRAMES))
            forced = [self._tokenizer.encode(" " + written_as_whisper(t)) for t in texts]
            results = []
            for at in range(0, len(forced), SCORED_AT_ONCE):
                batch = forced[at:at + SCORED_AT_ONCE]
                results += self._model.model.generate(
                    ctranslate2.StorageView.from_array(np.repeat(encoded, len(batch), axis=0)),
                    [self._bare + tokens for tokens in batch], beam_size=1,
                    # CTranslate2 4.x returns about max_length / 2 steps for a forced prefix (measured):
                    # this many give each text's steps and the one after (end of text), and no more
                    max_length=2 * (max(len(t) for t in batch) + 1) + 1, return_logits_vocab=True,
                    suppress_blank=False, suppress_tokens=[])
        except (RuntimeError, ValueError) as exc:
            raise SpeechError(f"Whisper failed to score {len(texts)} transcript(s): {exc}") from None
        scores = []
        for tokens, result in zip(forced, results):
            steps = result.logits[0]
            if len(steps) <= len(tokens):
                scores.append(-math.inf)
                continue
            wanted = [*tokens, self._tokenizer.eot]
            scores.append(float(np.mean([_log_softmax(np.asarray(steps[i]))[token] for i, token in enumerate(wanted)])))
        return scores

    def alternatives(self, pcm: bytes, n: int = ALTERNATIVES) -> list[str]:
        """Whisper's other readings of this audio: the n best of a beam search (beam n) with the same prompt
        as transcribe(), best first, each once. The encoding transcribe() made is reused, so this costs a
        decoder pass (about 0.1 CPU-s for a command)."""
        return self._beam(pcm, n, self._suppress, "")

    def held_readings(self, pcm: bytes, n: int = ALTERNATIVES, like: str | None = None) -> list[str]:
        """Whisper's readings of this audio held to the vocabulary's words: the n best of a beam search in
        which every token that no vocabulary word (nor a digit, "%" or a punctuation mark) is made of is
        suppressed. Where a voice is unfamiliar, Whisper's free reading drifts to ordinary English ("I have
        turned everything off downstairs", "Tone up the lights"); held to the grammar's words it often
        writes the command ("Turn everything off downstairs", "Turn up the lights ..."). Ordinary speech
        comes out as broken strings of those words ("How all is the"), which only a score against the audio
        can judge. [] where no vocabulary was given. Costs about as much as alternatives(); `like`: Whisper's
        own words for this audio, and the readings are then no more than HELD_SLACK tokens longer (a held
        reading of ordinary speech otherwise runs on, "It, it, it, ...", to the audio's token limit)."""
        if not self._held:
            return []
        longest = len(self._tokenizer.encode(" " + like)) + HELD_SLACK if like else None
        return self._beam(pcm, n, self._held, " held to the grammar's words", longest)

    def _all_but(self, vocabulary: Sequence[str]) -> list[int]:
        """The text tokens (those before the end of text) that none of these words, a digit, "%" or a
        punctuation mark is made of: what held_readings() suppresses."""
        allowed: set[int] = set()
        for word in vocabulary:
            for form in (word, word.capitalize()):
                allowed.update(self._tokenizer.encode(" " + form))
                allowed.update(self._tokenizer.encode(form))
        for mark in [*".,?!%", *"0123456789"]:
            allowed.update(self._tokenizer.encode(mark))
            allowed.update(self._tokenizer.encode(" " + mark))
        return [token for token in range(self._tokenizer.eot) if token not in allowed] + \
            [token for token in self._suppress if token >= self._tokenizer.eot]  # and the special tokens

    def _beam(self, pcm: bytes, n: int, suppress: list[int], what: str, longest: int | None = None) -> list[str]:
        audio = _samples(pcm)
        if len(audio) < MIN_AUDIO_S * SAMPLE_RATE:
            return []
        audio_s = len(audio) / SAMPLE_RATE
        max_new_tokens = max(MIN_MAX_TOKENS, int(MAX_TOKENS_PER_S * audio_s))
        if longest is not None:
            max_new_tokens = min(max_new_tokens, longest)
        try:
            encoded = self._encoded(pcm, audio, self.window_frames if self._fits_window(audio) else FULL_WINDOW_FRAMES)
            result = self._model.model.generate(
                encoded, [self._prompt], beam_size=n, num_hypotheses=n, patience=1.0, length_penalty=1.0,
                max_length=min(len(self._prompt) + max_new_tokens, self._model.max_length),
                suppress_blank=True, suppress_tokens=suppress)[0]
        except (RuntimeError, ValueError) as exc:
            raise SpeechError(f"Whisper failed to read {audio_s:.1f} s of audio again{what}: {exc}") from None
        texts = [self._tokenizer.decode(tokens).strip() for tokens in result.sequences_ids]
        return list(dict.fromkeys(t for t in texts if any(c.isalnum() for c in t) and not repeats(t)))

    def _fits_window(self, audio: np.ndarray) -> bool:
        frames = len(audio) // (SAMPLE_RATE // FRAMES_PER_S)
        return bool(self.window_frames) and frames + MIN_TAIL_FRAMES <= self.window_frames

    def _encoded(self, pcm: bytes, audio: np.ndarray, window: int | None = None):
        """The encoder's output for the audio padded to `window` feature frames (the short window by
        default); the last few are kept, so support() after transcribe() on the same audio costs no encode."""
        import ctranslate2

        window = window or self.window_frames
        key = (window, len(pcm), hash(pcm))
        with self._lock:
            if key in self._encodings:
                return self._encodings[key]
        features = self._model.feature_extractor(audio)[:, :-1]  # as faster-whisper: 160 samples of padding
        padded = np.zeros((1, features.shape[0], window), dtype=np.float32)
        padded[0, :, : min(window, features.shape[1])] = features[:, :window]
        encoded = self._model.model.encode(ctranslate2.StorageView.from_array(padded))
        with self._lock:
            self._encodings[key] = encoded
            while len(self._encodings) > KEPT_ENCODINGS:
                self._encodings.pop(next(iter(self._encodings)))
        return encoded

    def _decode_window(self, encoded, max_new_tokens: int) -> tuple[str, float, float]:
        result = self._model.model.generate(
            encoded, [self._prompt], beam_size=self.beam_size, patience=1.0, length_penalty=1.0,
            max_length=min(len(self._prompt) + max_new_tokens, self._model.max_length), return_scores=True,
            return_no_speech_prob=True, suppress_blank=True, suppress_tokens=self._suppress)[0]
        tokens = result.sequences_ids[0]
        # faster-whisper's average: the score is the summed log-probability over len(tokens) (length
        # penalty 1), and the end-of-text token counts too.
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1) if result.scores else -math.inf
        return self._tokenizer.decode(tokens).strip(), avg_logprob, result.no_speech_prob

    def _decode_full(self, audio: np.ndarray, max_new_tokens: int) -> tuple[str, float, float]:
        segments, _ = self._model.transcribe(
            audio, language="en", beam_size=self.beam_size, temperature=0.0, without_timestamps=True,
            vad_filter=False, condition_on_previous_text=False, initial_prompt=self.prompt or None,
            max_new_tokens=max_new_tokens)
        segments = list(segments)
        if not segments:
            return "", -math.inf, 1.0
        tokens = [max(1, len(s.tokens)) + 1 for s in segments]
        avg_logprob = sum(s.avg_logprob * n for s, n in zip(segments, tokens)) / sum(tokens)
        no_speech_prob = max(s.no_speech_prob for s in segments)
        return " ".join(s.text.strip() for s in segments).strip(), avg_logprob, no_speech_prob
