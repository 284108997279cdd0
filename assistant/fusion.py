"""The fused engine: each command decoded by the grammar engine and by the neural engine, and one decision.

The grammar decode (PocketSphinx or Vosk, held to the sentence grammar) is accurate on sentences it knows
and cheap, but it can only answer with a sentence of the grammar: chat and unfamiliar phrasings come out as
the nearest command. The neural decode (Whisper) writes down what was said, commands or not, with more
word errors on short names. Each is right where the other fails, so:

- both transcripts understood as the same commands, or as commands that publish the same messages ("the
  bedroom lights" and "the bedroom light" where the bedroom has one light) -> act (agree);
- the grammar's command turned round ("... on" against Whisper's "... off") -> not understood, unless
  Whisper hears its own words clearly better;
- the neural transcript understood word for word, confident -> act on it (the grammar misheard or the
  phrasing is outside its grammar);
- the neural transcript understood only by a snapped name or a fuzzy guess -> act only where the grammar
  heard the same commands;
- the neural transcript no command (or a weaker one), but Whisper itself, scoring the grammar's sentence
  against the same audio word by word, finds it nearly as likely as its own words ("Tone up the lights in
  the bedroom" -0.18 per token, "turn up the lights in the bedroom" -0.89, "turn off ..." -1.6) -> act on
  the grammar's (verified);
- the neural transcript no command: the grammar's sentences nearest to its words, letter for letter
  ("Set the pure affair to mix." -> "set the purifier to max", "... to min", ...), each scored by Whisper
  against the audio; one that Whisper hears clearly better than every other near sentence meaning
  something else, and better than itself turned round -> act on it (near);
- ... and the same for Whisper's other readings of the audio that are commands: its beam's n best, and
  its n best held to the grammar's words (only the tokens those words are made of may be written: "I
  have turned everything off downstairs." -> "Turn everything off downstairs.") (near);
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
from typing import Callable, Sequence

from .audio import WholeUtterance
from .errors import SpeechError
from .messages import Intent, NotUnderstood, Transcript

log = logging.getLogger(__name__)

Understand = Callable[[str], "tuple[Intent, ...] | NotUnderstood"]
# texts -> how well each explains the utterance's audio to the neural model (mean log-probability per token)
Support = Callable[[Sequence[str]], "list[float]"]
# commands -> what carrying them out would publish (None: nothing, or a question): two readings that
# publish the same are the same command ("dim the bedroom lights ..." where the bedroom has one light)
Effect = Callable[["tuple[Intent, ...]"], "frozenset | None"]
# heard text -> the grammar's sentences nearest to it, nearest first
Near = Callable[[str], "list[str]"]
# The neural engine's other readings of the same audio (a beam's n best), asked for only when needed
Readings = Callable[[], Sequence[str]]


@dataclass(frozen=True)
class FusionRule:
    """Chosen on dev/audio/tune, clean and with pink noise at 10 dB (scripts/tune_fusion.py --grid, 135 rules),
    wrong actions first: of the rules with no wrong action in either condition, the one with the most commands
    right: 59.5 % clean / 45.9 % at 10 dB (grammar alone: 21.6 / 18.9 % right with 5.5 / 4.7 % of clips wrong
    actions; Whisper alone: 59.5 / 48.6 % with 0 / 2.4 %). grammar_min 0 or 0.3 gave 44.6 % at 10 dB;
    contested_min 0.6 gave wrong actions at 10 dB (45.9 % right, 1.6 % wrong); neural_alone 0.7 fewer right
    (37.8 % at 10 dB). Then the grammar's sentence verified by Whisper's own score (scored without the
    prompt of names, the same figures as with it), against its action words
    turned round too (112 rules): verify_gap 1.0 gets 60.8 / 47.3 % with no wrong action (1.25 and 1.5
    the same, 0.75 one clip fewer, 2.0 one more, all with none wrong): the middle of that plateau is taken. Verifying against a different neural command
    too (verify_contested) gave wrong actions from 1.25 on (1.0: 60.8 / 48.6 %): left off. Without the
    rivals, 1.0 gave 60.8 / 48.6 % here but two wrong actions on eval/ ("tone off all the lights" verified
    "turn up all the lights"). Opposite commands (Whisper's is the grammar's turned round): refused where
    Whisper scores its words less than opposite_gap above the grammar's sentence; 0 to 0.25 cost nothing
    here, 0.5 one command at 10 dB, refusing them all 2 clean and 2 at 10 dB; this set holds no such wrong
    action to prevent, eval/ one at 10 dB ("turn the ceiling light up" for "... off"), which 0.25 prevents.
    Refusing them also where the grammar's decoder was unsure cost one command on eval/ and was left off.
    Sentences near Whisper's words (scripts/tune_fusion.py --grid-near, 60 rules; here 64.9 / 50.0 % with
    none): floor -2.0 to -2.5 with margin 0.5-1.0 gain 1-2 commands in each condition with no wrong action,
    -3.0 makes one ("This sent the kitchen light to warm light" -> "... to daylight" at -2.63), margin 1.5
    gains less; rival 0 gains one more at 10 dB on a 0.03 lead over "start the blinds": 0.5 is kept. A floor
    alone, without the margin and rival tests, and a gap to Whisper's own words (its own words score far
    better than any sentence when it mishears: "Set the pure affair to mix." -0.23, "set the purifier to
    max" -1.61) were tried first and gained nothing for a wrong action at 10 dB. Numbers' neighbours as
    rivals (rival_sentences): no change here, nor on eval/. Whisper's own command against its rivals
    (--grid-rival): margins 0-0.2 cost nothing here clean or at 10 dB, 0.3 one command clean, 0.5 two, 1.0
    eleven; this set has no wrong action for it to prevent, eval/ one at 10 dB (a 0.15 lead of "15%" over
    "fifty percent" for "sixty percent"). 0.2, the most that costs nothing here, then cost one command on
    dev/audio/report clean and prevented nothing there, and on eval/ (where the case came from) cost 1 / 2
    commands for that one wrong action: left off. Whisper's other readings (a beam of 5, its n best) that
    are commands join the near sentences (--grid-alternatives): +1 command clean, +4 at 10 dB, but two wrong
    actions at 10 dB, both a reading shorter than Whisper's own ("Turn on the kitchen light, no?" ->
    "... light." for a compound; "Put the air purifier on on it." -> "... on." for "... on auto"); with no
    reading shorter than its own words the same gain and none. On dev/audio/report at 10 dB a reading that
    only added a word after Whisper's last ("Turn on the coffee" -> "... coffee maker", a compound cut
    short) was one wrong action: such readings are left out too, as the near search adds nothing after the
    last word heard (no change here). The grammar's sentences near each of those readings too
    (near_readings): +1 command here clean, none at 10 dB; on dev/audio/report one command fewer clean and
    one wrong action more at 10 dB: left off. Whisper's readings held to the grammar's words (a beam over only
    the tokens those words are made of; --grid-held): +3 commands clean, none at 10 dB, with none wrong where
    a held reading shorter than Whisper's own words must end in a word like its last (held_end; without it
    one wrong action at 10 dB, "Put the air purifier on on it." -> "... on." for "... on auto"); with the
    held readings the free beam's add nothing here (the same 75.7 / 56.8 %), but on dev/audio/report
    dropping them cost 4 commands clean, so both are kept. Two rules from dev/audio/report (so that set has
    been in view for them): a held reading may not only add words after Whisper's last (as for the free
    beam; "turn the kitchen light" -> "... light off" and "... lights off" then stood against each other),
    nor hold an action word Whisper's words lack or have nothing like (held_actions: "Honey desk lamp," ->
    "On the desk lamp," for an orange the lamp cannot show); neither changes anything here. The grammar's
    verified sentence against its rivals by a margin (verify_rival, --grid-verify-rival): 0 to 0.5 change
    nothing here; on eval/, where the case came from ("turn up the downstairs lights" verified 0.13 above
    "turn off ...", said), 0.2 prevents that one wrong action at 10 dB for 2 commands clean and 2 at 10 dB:
    left at 0."""

    neural_alone: float = 0.5  # Whisper's confidence at which its own command is acted on
    close_words: float = 0.8  # letter overlap (0-1) at which a neural non-command backs the grammar's command
    grammar_min: float = 0.6  # the grammar decode's own confidence below which it backs nothing
    match_min: float = 0.6  # the matcher's confidence (1 = word for word) the neural command needs to act alone
    # ... and where the grammar heard a different command: a command read by its parts or guessed (under 1)
    # loses to the disagreement ("make the desk lamp warm[er]": Whisper dropped a syllable the grammar heard)
    contested_min: float = 0.8
    # How far below Whisper's own words (mean log-probability per token, forced) the grammar's sentence may
    # score and still be acted on where the neural reading is no command or a weaker one (None: never asked)
    verify_gap: float | None = 1.0
    verify_contested: bool = False  # ... also where Whisper's words are a different command
    verify_rival: float = 0.0  # ... and by this much better than itself with its action turned round
    # Where the grammar's command with its action word turned round (rival_sentences) is Whisper's command:
    # not understood unless Whisper scores its own words at least this much better than the grammar's
    # sentence (None: no such check)
    opposite_gap: float | None = 0.25
    # Where Whisper's words are no command: the grammar's sentences nearest to them, letter for letter
    # (intents.nearest), each scored by Whisper against the audio. The best is acted on when it scores at
    # least near_floor, near_rival better than itself with its action turned round, near_margin better
    # than every other candidate that means something else, and (where near_gap is set) within near_gap
    # of Whisper's own words (near_floor None: not looked for)
    near_floor: float | None = -2.25
    near_margin: float = 1.0
    near_rival: float = 0.5
    near_gap: float | None = None
    # ... and Whisper's other readings of the audio (a beam's n best) that are commands join those sentences
    alternatives: bool = True
    near_readings: bool = False  # the grammar's sentences near each of those readings join too
    # ... and its readings held to the grammar's words (a beam over only the tokens those words are made of)
    held: bool = True
    held_near: bool = False  # the grammar's sentences near each held reading join too
    held_end: bool = True  # a held reading must end in a word like Whisper's own last word (or be as long)
    held_actions: bool = True  # ... and hold no action word ("on", "off", "dim", ...) Whisper's words lack
    # Whisper's own command, acted on alone, must score at least this much better than itself with its
    # action turned round or a number swapped for a neighbour (rival_sentences of its words); else it is
    # not acted on ("set it to 15%" -0.36, "... fifty percent" -0.51, "... sixty percent" -0.55: which
    # one was said is not clear). None: no such check (tried, not kept: see below)
    neural_rival: float | None = None


# Words whose swap turns a command round: the grammar's sentence must score better than with any of them
# swapped ("turn up all the lights" heard as "tone off all the lights" scores 0.67 below Whisper's own words,
# within verify_gap, but "turn off all the lights" scores better still).
RIVALS = (("on", "off", "up", "down"), ("open", "close"), ("raise", "lower"), ("brighten", "dim"),
          ("brighter", "dimmer"), ("warmer", "cooler"), ("increase", "decrease"), ("higher", "lower"),
          ("more", "less"), ("start", "stop"))
MAX_RIVALS = 8
# A number's neighbours are its rivals too ("level far" is "level four" more than "level five"): one either
# side, and the -teen / -ty pair that differs in one syllable ("thirteen" / "thirty")
_ONES = "zero one two three four five six seven eight nine ten".split()
_TENS = "ten twenty thirty forty fifty sixty seventy eighty ninety".split()
_TEENS = "thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
NUMBER_RIVALS: dict[str, tuple[str, ...]] = {}
for _row in (_ONES, _TENS):
    for _i, _word in enumerate(_row):
        NUMBER_RIVALS[_word] = NUMBER_RIVALS.get(_word, ()) + tuple(_row[j] for j in (_i - 1, _i + 1)
                                                                    if 0 <= j < len(_row))
for _teen, _ty in zip(_TEENS, _TENS[2:]):
    NUMBER_RIVALS[_teen] = NUMBER_RIVALS.get(_teen, ()) + (_ty,)
    NUMBER_RIVALS[_ty] = NUMBER_RIVALS.get(_ty, ()) + (_teen,)


def rival_sentences(text: str) -> list[str]:
    """The sentence with one action word swapped for each of its rivals ("turn up the lamp" -> "turn on
    the lamp", "turn off the lamp", "turn down the lamp"), then each number word for its neighbours ("level
    five" -> "level four", "level six"), at most MAX_RIVALS."""
    words = text.split()
    rivals: list[str] = []
    for i, word in enumerate(words):
        for group in RIVALS:
            if word.lower() in group:
                rivals += [" ".join([*words[:i], other, *words[i + 1:]]) for other in group if other != word.lower()]
    for i, word in enumerate(words):
        rivals += [" ".join([*words[:i], other, *words[i + 1:]]) for other in NUMBER_RIVALS.get(word.lower(), ())]
    return list(dict.fromkeys(rivals))[:MAX_RIVALS]


def _same(a: tuple[Intent, ...], b: tuple[Intent, ...]) -> bool:
    return [(i.name, dict(i.slots)) for i in a] == [(i.name, dict(i.slots)) for i in b]


def _words(text: str, polite: bool = True) -> list[str]:
    """The matcher's words, numbers spelled out as the grammar writes them ("20" -> "twenty"); polite=False
    keeps the politeness and fillers (every word that was said)."""
    from .intents.forgiving import normalize, polite as without_fillers
    from .numbers import number_words

    words: list[str] = []
    for word in (without_fillers(normalize(text)) if polite else normalize(text)).split():
        words += number_words(int(word))[0].split() if word.isdigit() and int(word) < 10000 else [word]
    return words


def spelled(text: str) -> str:
    """A reading as the grammar writes its sentences: "Stop the blinds at 20%." -> "stop the blinds at twenty
    percent", so Whisper's readings and the grammar's sentences are scored alike."""
    return " ".join(_words(text, polite=False))


def overlap(a: str, b: str) -> float:
    """How alike two transcripts are, 0-1: their letters after the matcher's normalisation, numbers spelled
    out, spaces dropped, so a slip across a word boundary ("demo" for "dim the") costs a letter or two,
    not two whole words."""
    la, lb = "".join(_words(a)), "".join(_words(b))
    if not la or not lb:
        return 0.0
    return SequenceMatcher(None, la, lb, autojunk=False).ratio()


def decide(grammar: Transcript, neural: Transcript, understand: Understand,
           rule: FusionRule = FusionRule(), support: Support | None = None,
           effect: Effect | None = None, near: Near | None = None,
           readings: Readings | None = None, held: Readings | None = None) -> tuple[Transcript, str]:
    """(the transcript to act on, or a rejected one; why). support: the neural model's score of texts
    against this utterance's audio (None: the rules that need it are skipped); effect: what commands would
    publish (None: two readings agree only when their commands are the same slot for slot); near: the
    grammar's sentences nearest to a text (None: none looked for); readings: the neural engine's other
    readings of the audio (None: none); held: its readings held to the grammar's words (None: none)."""
    heard_g = understand(grammar.text) if grammar.text and not grammar.rejected else None
    heard_n = understand(neural.text) if neural.text else None
    g_ok = isinstance(heard_g, tuple) and grammar.confidence >= rule.grammar_min
    n_ok = isinstance(heard_n, tuple)
    if n_ok and g_ok and (_same(heard_n, heard_g) or _same_effect(heard_n, heard_g, effect)):
        # the grammar's words: the same command, written as its sentence ("forty percent", not "40%.")
        return _chosen(grammar, grammar, neural, "both engines heard the same command"), "agree"
    if (rule.opposite_gap is not None and n_ok and g_ok and _turned_round(grammar.text, heard_n, understand)
            and (support is None or _margin(support, neural.text, grammar.text) < rule.opposite_gap)):
        # "turn the ceiling light on" against "... off": one of them misheard the one word that matters, and
        # Whisper does not hear its own words clearly better than the grammar's
        return (replace(_chosen(grammar, grammar, neural, "the engines heard the opposite of each other"),
                        rejected=True), "opposite")
    needed = rule.contested_min if g_ok else rule.match_min
    if (n_ok and neural.confidence >= rule.neural_alone and all(i.confidence >= needed for i in heard_n)
            and _clear(neural.text, rule, support)):
        return _chosen(neural, grammar, neural, "the neural transcript is a command"), "neural"
    if isinstance(heard_n, NotUnderstood) and heard_n.needs_area:
        # "turn off the lights" with no room known is a question back, not the grammar's "... all the lights"
        return _chosen(neural, grammar, neural, heard_n.reason), "neural-refused"
    asked = g_ok and neural.text and support is not None and rule.verify_gap is not None
    if asked and (not n_ok or rule.verify_contested):
        rivals = rival_sentences(grammar.text)
        own, theirs, *others = support([neural.text, grammar.text, *rivals])
        if own - theirs <= rule.verify_gap and all(theirs > other + rule.verify_rival for other in others):
            return (_chosen(grammar, grammar, neural, "the neural model hears the grammar's sentence nearly as "
                            "well as its own words, and better than with its action turned round"), "verified")
    if (not n_ok and neural.text and support is not None and rule.near_floor is not None
            and (near is not None or readings is not None or held is not None)):
        found = _nearest(neural.text, grammar.text if asked else None, understand, rule, support, near,
                         readings if rule.alternatives else None, held if rule.held else None)
        if found is not None:
            return (_chosen(replace(neural, text=found), grammar, neural,
                            "the neural model hears one sentence near its words (or one of its other readings) "
                            "clearly better than any other, and better than with its action turned round"), "near")
    if (not asked and g_ok and neural.text and not n_ok
            and overlap(neural.text, grammar.text) >= rule.close_words):
        # only where Whisper's words are no command at all: "turn on ..." against "turn off ..." is no slip;
        # and only where Whisper cannot score the sentence itself (letters are a weaker witness)
        return _chosen(grammar, grammar, neural, "the neural transcript is close to the grammar's command"), "close"
    if isinstance(heard_n, NotUnderstood) and heard_n.out_of_domain:
        # say what the person asked for ("I can't do timers here"), whatever the grammar made of it; after the
        # grammar's sentence had its chance: a misheard command reads as a request for something else ("Set
        # the air purifier speed volume." -> music) where Whisper still hears the grammar's words well
        return _chosen(neural, grammar, neural, heard_n.reason), "neural-refused"
    why = ("the engines disagree" if n_ok and g_ok else
           "the neural engine heard no command" if g_ok else "no engine heard a command")
    return replace(_chosen(grammar, grammar, neural, why), rejected=True), "reject"


def _nearest(heard: str, tried: str | None, understand: Understand, rule: FusionRule, support: Support,
             near: Near | None, others: Readings | None = None, held: Readings | None = None) -> str | None:
    """The sentence of the grammar near `heard`, or the other reading of the neural engine's, that Whisper
    hears best in the audio, if it stands out enough (FusionRule.near_floor and after); `tried`: the
    grammar's own sentence, already refused. Only readings that are commands join: the rest are heard and
    mean nothing to act on."""
    candidates = [c for c in near(heard) if c != tried] if near is not None else []
    if others is not None:
        # Not a reading with fewer words than Whisper's own: a beam's shorter readings are mostly its words
        # cut short, a compound's second half lost ("Turn on the kitchen light, no?" -> "... light."). Nor
        # one that only adds words after them: as in the near search, nothing is added after the last word
        # heard ("Turn on the coffee", a compound cut short, is not "turn on the coffee maker").
        own = spelled(heard).split()
        readings = [r for r in dict.fromkeys(spelled(text) for text in others())
                    if len(r.split()) >= len(own) and r.split()[:len(own)] != own]
        own = " ".join(own)
        candidates += [r for r in readings
                       if r not in candidates and r != tried and r != own and isinstance(understand(r), tuple)]
        if rule.near_readings and near is not None:  # ... and the grammar's sentences near those readings
            candidates += [c for r in readings if r != own for c in near(r) if c not in candidates and c != tried]
    if held is not None:
        from .intents.nearest import NEVER_DROPPED, likeness

        own = spelled(heard).split()
        kept = [w for w in own if w in NEVER_DROPPED]
        for reading in dict.fromkeys(spelled(text) for text in held()):
            words = reading.split()
            if not words or any(w not in words for w in kept) or words[:len(own)] == own:
                continue  # a word that calls it off lost, or only words added after Whisper's last
            if rule.held_end and own and len(words) < len(own) and likeness(words[-1], own[-1]) < 0.5:
                continue
            if rule.held_actions and _brings_action(words, own):
                continue
            if reading not in candidates and reading != tried and isinstance(understand(reading), tuple):
                candidates.append(reading)
            if rule.held_near and near is not None:
                candidates += [c for c in near(reading) if c not in candidates and c != tried]
    if not candidates:
        return None
    own, *scores = support([heard, *candidates])
    ranked = sorted(zip(scores, candidates), reverse=True)
    best_score, best = ranked[0]
    if best_score < rule.near_floor or (rule.near_gap is not None and own - best_score > rule.near_gap):
        return None
    meaning = understand(best)
    if not isinstance(meaning, tuple):
        return None
    for score, other in ranked[1:]:
        theirs = understand(other)
        if best_score - score < rule.near_margin and not (isinstance(theirs, tuple) and _same(theirs, meaning)):
            return None
    rivals = rival_sentences(best)
    if rivals and max(support(rivals)) > best_score - rule.near_rival:
        return None
    return best


def _brings_action(words: list[str], own: list[str]) -> bool:
    """Whether a reading holds an action word that is not in Whisper's own words, nor like one of them
    letter for letter as the near search reads a word as an action word ("honey" is not "on")."""
    from .intents.nearest import ACTION_SAME_MIN, ACTION_WORDS, likeness

    return any(word in ACTION_WORDS and word not in own
               and not any(likeness(heard, word) >= ACTION_SAME_MIN for heard in own) for word in words)


def near_sentences(dfa, k: int = 6) -> Near:
    """The Near of a grammar automaton (intents.grammar.build_fsm): heard text -> up to k sentences."""
    from .intents.nearest import Nearest

    nearest = Nearest(dfa)
    return lambda text: [sentence for _, sentence in nearest.sentences(_words(text), k)]


def own_rivals(text: str) -> tuple[str, list[str]]:
    """Whisper's words as the grammar writes them ("set it to fifteen percent") and their rival sentences."""
    own = " ".join(_words(text))
    return own, rival_sentences(own)


def _clear(text: str, rule: FusionRule, support: Support | None) -> bool:
    """Whether Whisper hears its own command clearly better than with its action turned round or its number
    swapped for a neighbour (FusionRule.neural_rival); True where that cannot be asked."""
    if rule.neural_rival is None or support is None:
        return True
    own, rivals = own_rivals(text)
    if not rivals:
        return True
    mine, *theirs = support([own, *rivals])
    return mine - max(theirs) >= rule.neural_rival


def _margin(support: Support, own: str, theirs: str) -> float:
    mine, other = support([own, theirs])[:2]
    return mine - other


def _turned_round(grammar_text: str, heard_n: tuple[Intent, ...], understand: Understand) -> bool:
    """Whether Whisper's commands are the grammar's sentence with an action word swapped (on/off, up/down)."""
    for rival in rival_sentences(grammar_text):
        heard = understand(rival)
        if isinstance(heard, tuple) and _same(heard, heard_n):
            return True
    return False


def _same_effect(a: tuple[Intent, ...], b: tuple[Intent, ...], effect: Effect | None) -> bool:
    if effect is None:
        return False
    published = effect(a)
    return published is not None and published == effect(b)


def _chosen(base: Transcript, grammar: Transcript, neural: Transcript, why: str) -> Transcript:
    return Transcript(base.text, base.confidence, "fused", False, max(grammar.audio_s, neural.audio_s),
                      grammar.cpu_s + neural.cpu_s, parts=(grammar, neural), why=why)


class FusedRecognizer(WholeUtterance):
    """A Recognizer that runs the grammar and the neural recognizer on each utterance and decides."""

    name = "fused"

    def __init__(self, grammar, neural, understand: Understand, rule: FusionRule = FusionRule(),
                 effect: Effect | None = None, near: Near | None = None):
        from concurrent.futures import ThreadPoolExecutor

        self.grammar, self.neural, self.understand, self.rule, self.effect = grammar, neural, understand, rule, effect
        self.near = near
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neural-decode")

    def understanding(self, understand: Understand) -> "FusedRecognizer":
        """The same two engines (and decode thread), deciding with another matcher: a satellite's area."""
        twin = FusedRecognizer.__new__(FusedRecognizer)
        twin.grammar, twin.neural, twin.understand, twin.rule, twin.effect, twin.near, twin._pool = (
            self.grammar, self.neural, understand, self.rule, self.effect, self.near, self._pool)
        return twin

    def suppresses(self, pcm: bytes) -> bool:
        return self.grammar.suppresses(pcm)

    def transcribe(self, pcm: bytes) -> Transcript:
        started = time.perf_counter()
        # Whisper (CTranslate2) decodes without the interpreter lock: both engines run at once.
        neural_job = self._pool.submit(self.neural.transcribe, pcm)
        grammar = self.grammar.transcribe(pcm)
        neural = neural_job.result()
        support = getattr(self.neural, "support", None)
        chosen, how = decide(grammar, neural, self.understand, self.rule,
                             (lambda texts: support(pcm, texts)) if support else None, self.effect, self.near,
                             self._readings("alternatives", pcm),
                             self._readings("held_readings", pcm, like=neural.text))
        log.debug("fused: grammar %r (%.2f), neural %r (%.2f) -> %s: %s in %.0f ms", grammar.text,
                  grammar.confidence, neural.text, neural.confidence, how, chosen.why,
                  (time.perf_counter() - started) * 1000)
        return chosen

    def _readings(self, method: str, pcm: bytes, **options) -> Readings | None:
        """The neural engine's readings of this audio by one of its methods, asked for only when needed (None:
        it has no such method). Where they fail, the decision is made without them: Whisper's words stand."""
        read = getattr(self.neural, method, None)
        if read is None:
            return None

        def readings() -> Sequence[str]:
            try:
                return read(pcm, **options)
            except SpeechError as exc:
                log.warning("the neural engine's readings (%s) failed: %s", method, exc)
                return []
        return readings
