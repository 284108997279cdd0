"""PocketSphinx (its wheel ships US English): grammar-constrained decoding plus a phone-loop check.

Two searches see the same audio:
- the command grammar (a minimal word automaton generated from the sentence templates), and
- an unconstrained phone loop (allphone with the wheel's phone bigram).
A grammar always produces *some* command, so the per-frame gap between the two scores is what tells
a command from other speech: in-grammar speech scores close to the free phone loop, other speech
falls far below it. The gap is mapped to a confidence 0-1 (logistic, tuned on generated audio).
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..levels import active_rms, background, pink
from ..errors import ModelError, SpeechError, UnknownWordsError
from ..audio import WholeUtterance
from ..messages import SAMPLE_RATE, Transcript

log = logging.getLogger(__name__)

_LOG_BASE = math.log(1.0001)
NOISE_FLOOR_DBFS = -60.0  # exact digital silence (TTS, muted mics) wrecks the acoustic normalisation
# Audio cleaner than a room ever is (TTS, a close-talk mic) decodes worse: the acoustic model learnt from
# recordings whose background sits some 20-30 dB under the speech. Noise this far under the clip's speech
# makes such audio look like them and leaves real recordings, which are noisier than that, as they were.
FLOOR_UNDER_SPEECH_DB = 30.0
# A steady background (fan, hum, traffic) this loud is suppressed before decoding, when a denoiser is
# given: at 10 dB SNR it lifts exact commands by about ten points. Voices or music behind the command
# are left alone: the suppressor takes them for speech and mangles the command (development set, babble
# at 20 dB: 72 -> 14 % exact).
DENOISE_BELOW_SNR_DB = 15.0
STEADY_BELOW_DB = 4.2


@dataclass(frozen=True)
class Rejection:
    """Confidence = logistic((gap - midpoint) / scale), where gap = per-frame score of the grammar
    path minus that of a uniform phone loop (log base 1.0001 units; 0 = as good as free phones).

    The phone loop scores every other frame (PHONE_LOOP_DS), which makes it a weaker rival and moves
    every gap up by about 7 units. Chosen on the development set (scripts/tune_decoder.py --gaps base):
    -19 keeps about as many commands as -25.5 did with every frame scored (95 % clean, 93 % at 10 dB)
    and rejects as much ordinary speech or more (96 % clean and at 10 dB)."""

    midpoint: float = -19.0
    scale: float = 2.5
    threshold: float = 0.5
    # Suppressed audio fits both the grammar and the phone loop better, commands and other speech alike.
    # Development set at 10 / 5 / 0 dB: this stricter midpoint costs 1.7 / 1.2 / 4.1 points of exact
    # commands and accepts 2.1 / 2.1 / 1.7 points fewer wrong ones and 0 / 6 / 4 points less other speech
    # (measured with the full-rate phone loop, at -23.5; shifted with the midpoint).
    suppressed_midpoint: float = -17.0

    def confidence(self, gap_per_frame: float, suppressed: bool = False) -> float:
        z = (gap_per_frame - (self.suppressed_midpoint if suppressed else self.midpoint)) / self.scale
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def _model_dir() -> str:
    try:
        from pocketsphinx import get_model_path
    except ImportError:
        raise ModelError("PocketSphinx is not installed; run: .venv/bin/pip install pocketsphinx") from None
    return os.path.join(get_model_path(), "en-us")


def _lookup(words: frozenset[str] | set[str]) -> dict[str, list[str]]:
    """word -> phone strings from the wheel's CMUdict, for the words it has."""
    found: dict[str, list[str]] = {}
    with open(os.path.join(_model_dir(), "cmudict-en-us.dict"), encoding="utf-8") as f:
        for line in f:
            head, _, phones = line.strip().partition(" ")
            word = head.split("(")[0]
            if word in words:
                found.setdefault(word, []).append(phones.strip())
    return found


def unknown_words(words: set[str]) -> set[str]:
    """The words PocketSphinx cannot pronounce (a spoken name made of them would stop the grammar)."""
    return set(words) - set(_lookup(words))


def pronunciations(words: frozenset[str]) -> dict[str, list[str]]:
    """word -> phone strings from the wheel's CMUdict; UnknownWordsError naming the words it cannot say."""
    found = _lookup(words)
    missing = tuple(sorted(words - set(found)))
    if missing:  # the caller knows where the words are written and says so (speech.build_recognizer)
        raise UnknownWordsError(f"the grammar uses words PocketSphinx cannot pronounce: {', '.join(missing)}; "
                                "fix their spelling or use other words", missing)
    return found


# In a loud room the VAD hears the noise as speech, so the look-back kept for one-breath commands also
# holds the end of the wake word; once the noise is suppressed that end is clear speech the grammar cannot
# place. For suppressed audio only, up to this many phones of anything may come before the command.
# (Allowed always, it let more ordinary speech through and cost clean accuracy.)
RESIDUE_PHONES = 3
RESIDUE_P = 0.05  # the share of paths out of the start that begin with such a phone
PHONES = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z "
          "ZH").split()
RESIDUE_WORDS = {f"residue-{p.lower()}": p for p in PHONES}  # never a sentence word: those have no hyphen
# The phone loop computes its acoustic scores on every other frame only. Development set: the rejection
# pass then costs 0.012 instead of 0.024 CPU-s per audio-s, and at the shifted midpoint it tells commands
# from other speech as well as before (scripts/tune_decoder.py --gaps phone-ds1 vs --gaps base).
PHONE_LOOP_DS = 2


def fsg_transitions(fsm, residue_phones: int = 0) -> tuple[int, int, list[tuple]]:
    """The automaton as PocketSphinx FSG (start, final, transitions) with one final state and no null
    arcs: every arc into an accepting state is copied to the single final state. With residue_phones, new
    start states let up to that many single-phone residue words come before the command.

    Decoder.create_fsg enters these probabilities without the language weight, so they barely steer the
    search. Weighted as a JSGF file would be (x6.5), the 1/fan-out split cost exact commands on the
    development set at equal rejection of other speech (clean 82.9 -> 82.1 %, 10 dB 74.6 -> 68.8 %); a
    bias towards an optional "the" gained nothing either."""
    final = fsm.n_states
    arcs = list(fsm.arcs) + [(s, final, w) for s, t, w in fsm.arcs if t in fsm.finals]
    fanout = Counter(a[0] for a in arcs)
    transitions = [(s, t, 1.0 / fanout[s], w) for s, t, w in arcs]
    if not residue_phones:
        return fsm.start, final, transitions
    first = [(t, p, w) for s, t, p, w in transitions if s == fsm.start]
    chain = [final + 1 + i for i in range(residue_phones + 1)]  # chain[0] is the new start
    for i, state in enumerate(chain):
        last = i == residue_phones
        transitions += [(state, t, p * (1 if last else 1 - RESIDUE_P), w) for t, p, w in first]
        if not last:
            transitions += [(state, chain[i + 1], RESIDUE_P / len(RESIDUE_WORDS), w) for w in RESIDUE_WORDS]
    return chain[0], final, transitions


class PocketSphinxRecognizer(WholeUtterance):
    name = "pocketsphinx"

    def __init__(self, grammar, rejection: Rejection | None = None, *, check_rejection: bool = True,
                 options: dict | None = None, phone_options: dict | None = None, denoiser=None):
        try:
            from pocketsphinx import Config, Decoder
        except ImportError:
            raise ModelError("PocketSphinx is not installed; run: .venv/bin/pip install pocketsphinx") from None
        self.rejection = rejection or Rejection()
        self.check_rejection = check_rejection
        self.denoiser = denoiser  # anything with denoise(int16 array) -> int16 array, e.g. RNNoise
        self.residue_phones = RESIDUE_PHONES
        self._fsm = grammar.fsm
        model = _model_dir()
        words = pronunciations(grammar.vocabulary)
        started = time.perf_counter()

        def decoder(**extra) -> "Decoder":
            # bestpath must stay off: the lattice pass ignores the grammar's final state and returned
            # "turn off everything and" for "turn off everything".
            config = Config(hmm=os.path.join(model, "en-us"), dict=dict_path, lm=None, loglevel="FATAL",
                            bestpath=False, dither=True, **extra)
            return Decoder(config)

        # A dictionary of just the grammar's words loads in milliseconds instead of CMUdict's second.
        with tempfile.TemporaryDirectory(prefix="assistant-ps-") as tmp:
            dict_path = os.path.join(tmp, "commands.dict")
            with open(dict_path, "w", encoding="utf-8") as f:
                if self.residue_phones:
                    f.writelines(f"{word} {phone}\n" for word, phone in RESIDUE_WORDS.items())
                for word, forms in sorted(words.items()):
                    f.writelines(f"{word}{'' if i == 0 else f'({i + 1})'} {p}\n" for i, p in enumerate(forms))
            self._load(decoder, grammar, check_rejection, options or {}, phone_options or {})
        log.info("PocketSphinx ready (%d words, %d grammar states) in %.2f s", len(words),
                 grammar.fsm.n_states, time.perf_counter() - started)

    def _load(self, decoder, grammar, check_rejection: bool, options: dict, phone_options: dict) -> None:
        try:
            self._grammar = decoder(**options)
            for name, residue in (("commands", 0), ("commands-after-residue", self.residue_phones)):
                start, final, transitions = fsg_transitions(grammar.fsm, residue)
                self._grammar.add_fsg(name, self._grammar.create_fsg(name, start, final, transitions))
            self._phones = None
            if check_rejection:
                # A phone loop without phone LM, at language weight 1: close to the best acoustic path any
                # words could have, so the gap to it measures only how well the grammar fits the sound.
                self._phones = decoder(**{"ds": PHONE_LOOP_DS, **phone_options, "lw": 1.0})
                self._phones.add_allphone_file("phones", None)
                self._phones.activate_search("phones")
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"PocketSphinx could not load its model or the grammar: {exc}") from None

    # ------------------------------------------------------------------ one utterance

    def transcribe(self, pcm: bytes) -> Transcript:
        audio_s = len(pcm) / 2 / SAMPLE_RATE
        cpu0 = time.process_time()
        if len(pcm) < 2 * SAMPLE_RATE // 10:
            return Transcript("", 0.0, self.name, rejected=True, audio_s=audio_s)
        data, suppressed = self._prepare(pcm)
        try:
            text, grammar_score, frames = self._decode(self._grammar, data)
            if text and not self._fsm.accepts(text.split()):
                # No path reached the end of the grammar; PocketSphinx then returns a partial path.
                log.debug("pocketsphinx partial path %r: not a command", text)
                text = ""
            gap = None
            if self.check_rejection and text:
                _, phone_score, _ = self._decode(self._phones, data)
                gap = (grammar_score - phone_score) / max(frames, 1)
        except RuntimeError as exc:
            raise SpeechError(f"PocketSphinx failed on {audio_s:.1f} s of audio: {exc}") from None
        if not text:
            confidence = 0.0
        elif gap is None:
            confidence = 1.0
        else:
            confidence = self.rejection.confidence(gap, suppressed)
        rejected = not text or confidence < self.rejection.threshold
        log.debug("pocketsphinx %r gap/frame=%s confidence=%.3f", text, gap, confidence)
        return Transcript(text, confidence, self.name, rejected, audio_s, time.process_time() - cpu0)

    def score_gap(self, pcm: bytes) -> tuple[str, float | None]:
        """Raw evidence for tuning the rejection: (grammar text, score gap per frame or None)."""
        data, suppressed = self._prepare(pcm)
        text, grammar_score, frames = self._decode(self._grammar, data)
        if not text or self._phones is None or not self._fsm.accepts(text.split()):
            return text, None
        _, phone_score, _ = self._decode(self._phones, data)
        return text, (grammar_score - phone_score) / max(frames, 1)

    def suppresses(self, pcm: bytes) -> bool:
        """Whether this audio has a loud steady background that transcribe() suppresses first."""
        if self.denoiser is None:
            return False
        snr_db, unsteady_db = background(np.frombuffer(pcm, dtype="<i2"))
        loud = snr_db < DENOISE_BELOW_SNR_DB and unsteady_db < STEADY_BELOW_DB
        if loud:
            log.debug("steady background %.1f dB under the speech (unsteadiness %.1f dB): suppressed first",
                      snr_db, unsteady_db)
        return loud

    def _prepare(self, pcm: bytes) -> tuple[bytes, bool]:
        """Suppress a loud steady background (with a denoiser), then give the audio its noise floor, and
        pick the grammar search to match. Also says whether it suppressed anything."""
        samples = np.frombuffer(pcm, dtype="<i2")
        suppressed = self.suppresses(pcm)
        if suppressed:
            samples = self.denoiser.denoise(samples)
        self._grammar.activate_search("commands-after-residue" if suppressed else "commands")
        return self._with_noise_floor(samples), suppressed

    def _with_noise_floor(self, samples: np.ndarray) -> bytes:
        x = samples.astype(np.float64) / 32768.0
        rng = np.random.default_rng(len(x))  # same audio, same result
        level = max(10 ** (NOISE_FLOOR_DBFS / 20), active_rms(x) * 10 ** (-FLOOR_UNDER_SPEECH_DB / 20))
        # A power-of-two length: numpy keeps an FFT plan per length, and every clip has its own.
        x += pink(1 << max(0, len(x) - 1).bit_length(), rng)[: len(x)] * level
        return np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2").tobytes()

    @staticmethod
    def _decode(decoder, data: bytes) -> tuple[str, float, int]:
        # A fresh front end for every utterance: its dither draws from a generator seeded only when the
        # front end is made, so without this the same audio decoded twice gave different sentences (one
        # command heard as nothing first, as "switch on the movie time scene" later) and every figure
        # depended on the order the clips were played in. 0.13 ms.
        decoder.reinit_feat()
        decoder.start_utt()
        decoder.process_raw(data, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        if hyp is None or not hyp.hypstr.strip():
            return "", -math.inf, decoder.n_frames()
        # The binding hands back 1.0001 ** score; the raw score (log base 1.0001, each frame relative to
        # its best senone) is what compares across searches.
        score = math.log(hyp.score) / _LOG_BASE if hyp.score > 0 else -math.inf
        return " ".join(w for w in hyp.hypstr.split() if w not in RESIDUE_WORDS), score, decoder.n_frames()
