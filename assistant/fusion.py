"""The fused engine: each command decoded by the grammar engine and by the neural engine, and one decision.

The grammar decode (PocketSphinx or Vosk, held to the sentence grammar) is accurate on sentences it knows
and cheap, but it can only answer with a sentence of the grammar: chat and unfamiliar phrasings come out as
the nearest command. The neural decode (Whisper) writes down what was said, commands or not, with more
word errors on short names. Each is right where the other fails, so:

- both transcripts understood as the same commands -> act (agree);
- the neural transcript understood word for word, confident -> act on it (the grammar misheard or the
  phrasing is outside its grammar);
- the neural transcript understood only by a snapped name or a fuzzy guess -> act only where the grammar
  heard the same commands;
- the neural transcript no command, but close, letter for letter, to the grammar's command ("demo living
  room lamp by 20%" and "dim the living room lamp by twenty percent") -> act on the grammar's;
- otherwise not understood, even when the grammar produced a command: the neural engine heard something
  else (chat, a question, a request for something this assistant does not do).

decide() is pure: two Transcripts and the matcher in, the transcript to act on (or a rejected one) and why
out. The thresholds are chosen on dev/audio/tune and written down beside their figures in
dev/audio/README.md.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from typing import Callable

from .audio import WholeUtterance
from .messages import Intent, NotUnderstood, Transcript

log = logging.getLogger(__name__)

Understand = Callable[[str], "tuple[Intent, ...] | NotUnderstood"]


@dataclass(frozen=True)
class FusionRule:
    """Chosen on dev/audio/tune, clean and with pink noise at 10 dB (scripts/tune_fusion.py --grid, 135 rules),
    wrong actions first: of the rules with no wrong action in either condition, the one with the most commands
    right: 59.5 % clean / 45.9 % at 10 dB (grammar alone: 21.6 / 18.9 % right with 5.5 / 4.7 % of clips wrong
    actions; Whisper alone: 59.5 / 48.6 % with 0 / 2.4 %). grammar_min 0 or 0.3 gave 44.6 % at 10 dB;
    contested_min 0.6 gave wrong actions at 10 dB (45.9 % right, 1.6 % wrong); neural_alone 0.7 fewer right
    (37.8 % at 10 dB)."""

    neural_alone: float = 0.5  # Whisper's confidence at which its own command is acted on
    close_words: float = 0.8  # letter overlap (0-1) at which a neural non-command backs the grammar's command
    grammar_min: float = 0.6  # the grammar decode's own confidence below which it backs nothing
    match_min: float = 0.6  # the matcher's confidence (1 = word for word) the neural command needs to act alone
    # ... and where the grammar heard a different command: a command read by its parts or guessed (under 1)
    # loses to the disagreement ("make the desk lamp warm[er]": Whisper dropped a syllable the grammar heard)
    contested_min: float = 0.8


def _same(a: tuple[Intent, ...], b: tuple[Intent, ...]) -> bool:
    return [(i.name, dict(i.slots)) for i in a] == [(i.name, dict(i.slots)) for i in b]


def _words(text: str) -> list[str]:
    """The matcher's words, numbers spelled out as the grammar writes them ("20" -> "twenty")."""
    from .intents.forgiving import normalize, polite
    from .numbers import number_words

    words: list[str] = []
    for word in polite(normalize(text)).split():
        words += number_words(int(word))[0].split() if word.isdigit() and int(word) < 10000 else [word]
    return words


def overlap(a: str, b: str) -> float:
    """How alike two transcripts are, 0-1: their letters after the matcher's normalisation, numbers spelled
    out, spaces dropped, so a slip across a word boundary ("demo" for "dim the") costs a letter or two,
    not two whole words."""
    la, lb = "".join(_words(a)), "".join(_words(b))
    if not la or not lb:
        return 0.0
    return SequenceMatcher(None, la, lb, autojunk=False).ratio()


def decide(grammar: Transcript, neural: Transcript, understand: Understand,
           rule: FusionRule = FusionRule()) -> tuple[Transcript, str]:
    """(the transcript to act on, or a rejected one; why)."""
    heard_g = understand(grammar.text) if grammar.text and not grammar.rejected else None
    heard_n = understand(neural.text) if neural.text else None
    g_ok = isinstance(heard_g, tuple) and grammar.confidence >= rule.grammar_min
    n_ok = isinstance(heard_n, tuple)
    if n_ok and g_ok and _same(heard_n, heard_g):
        # the grammar's words: the same command, written as its sentence ("forty percent", not "40%.")
        return _chosen(grammar, grammar, neural, "both engines heard the same command"), "agree"
    needed = rule.contested_min if g_ok else rule.match_min
    if n_ok and neural.confidence >= rule.neural_alone and all(i.confidence >= needed for i in heard_n):
        return _chosen(neural, grammar, neural, "the neural transcript is a command"), "neural"
    if g_ok and neural.text and not n_ok and overlap(neural.text, grammar.text) >= rule.close_words:
        # only where Whisper's words are no command at all: "turn on ..." against "turn off ..." is no slip
        return _chosen(grammar, grammar, neural, "the neural transcript is close to the grammar's command"), "close"
    if isinstance(heard_n, NotUnderstood) and (heard_n.out_of_domain or heard_n.needs_area):
        # say what the person asked for ("I can't do timers here", "which room?"), whatever the grammar made of it
        return _chosen(neural, grammar, neural, heard_n.reason), "neural-refused"
    why = ("the engines disagree" if n_ok and g_ok else
           "the neural engine heard no command" if g_ok else "no engine heard a command")
    return replace(_chosen(grammar, grammar, neural, why), rejected=True), "reject"


def _chosen(base: Transcript, grammar: Transcript, neural: Transcript, why: str) -> Transcript:
    return Transcript(base.text, base.confidence, "fused", False, max(grammar.audio_s, neural.audio_s),
                      grammar.cpu_s + neural.cpu_s, parts=(grammar, neural), why=why)


class FusedRecognizer(WholeUtterance):
    """A Recognizer that runs the grammar and the neural recognizer on each utterance and decides."""

    name = "fused"

    def __init__(self, grammar, neural, understand: Understand, rule: FusionRule = FusionRule()):
        from concurrent.futures import ThreadPoolExecutor

        self.grammar, self.neural, self.understand, self.rule = grammar, neural, understand, rule
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neural-decode")

    def understanding(self, understand: Understand) -> "FusedRecognizer":
        """The same two engines (and decode thread), deciding with another matcher: a satellite's area."""
        twin = FusedRecognizer.__new__(FusedRecognizer)
        twin.grammar, twin.neural, twin.understand, twin.rule, twin._pool = (
            self.grammar, self.neural, understand, self.rule, self._pool)
        return twin

    def suppresses(self, pcm: bytes) -> bool:
        return self.grammar.suppresses(pcm)

    def transcribe(self, pcm: bytes) -> Transcript:
        started = time.perf_counter()
        # Whisper (CTranslate2) decodes without the interpreter lock: both engines run at once.
        neural_job = self._pool.submit(self.neural.transcribe, pcm)
        grammar = self.grammar.transcribe(pcm)
        neural = neural_job.result()
        chosen, how = decide(grammar, neural, self.understand, self.rule)
        log.debug("fused: grammar %r (%.2f), neural %r (%.2f) -> %s: %s in %.0f ms", grammar.text,
                  grammar.confidence, neural.text, neural.confidence, how, chosen.why,
                  (time.perf_counter() - started) * 1000)
        return chosen
