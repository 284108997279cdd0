"""The grammar's sentences nearest to words heard outside it.

Whisper writes what it hears, and on an unfamiliar voice some words come out as other words ("switch the
purer fire one", "line to 60%", "a little divine the bedroom please"). The grammar decode's automaton
holds every sentence the assistant knows; this walks it beside the heard words and returns the few
sentences that are the fewest letter edits away. They are only candidates: the neural model then scores
each one against the audio (fusion.decide), and nothing is acted on because it is merely near.

Edits, each costing (1 - letter likeness) for a word, so "purer fire" -> "purifier" costs a little:
- a heard word for a grammar word (likeness >= SAME_MIN);
- two heard words for one grammar word, or one heard word for two ("halfway", "half wing");
- a heard word dropped: one the grammar does not know (a filler, the tail of the wake word) costs SKIP, a
  short word it knows LIGHT; a name or an action word heard is never dropped ("turn everything off
  downstairs" is not "turn everything off");
- a grammar word not heard: a short function word costs LIGHT, any other word HEAVY, a word that turns an
  action round ("on", "off", "up", ...) is never invented, and nothing is added after the last word heard.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from difflib import SequenceMatcher
from functools import lru_cache

from .fsm import Dfa

SAME_MIN = 0.5  # letter likeness (0-1) below which one word is not read as another
ACTION_SAME_MIN = 0.75  # ... as an action word: "of" may be "off", "one" "on", but "broken" is not "on"
JOINED_MIN = 0.7  # ... for two words read as one, or one as two
JOIN = 0.2  # added to a join or a split
SKIP = 0.7  # a heard word that is in no grammar sentence here
LIGHT = 0.4  # a short word the grammar has and the speaker (or Whisper) left out: "the", "to", "in"
HEAVY = 1.2  # any other word left out
MAX_COST = 2.6  # sentences further away are not candidates
MAX_STEPS = 40000  # search steps per call (a long sentence of chat far from every command stops here)
# Never invented: a candidate must not gain the word that decides what happens
ACTION_WORDS = frozenset({"on", "off", "out", "up", "down", "open", "close", "raise", "lower", "dim", "brighten",
                          "brighter", "dimmer", "warmer", "cooler", "more", "less", "start", "stop", "not",
                          "all", "and"})
# Never dropped from what was heard, nor read as another word: words that call a command off or change it
# ("turn on the kitchen light, no?" is not "turn on the kitchen light")
NEVER_DROPPED = frozenset({"no", "not", "dont", "don't", "never", "but", "except", "instead", "wait", "stop",
                           "cancel", "and", "or", "if"})


@lru_cache(maxsize=65536)
def likeness(heard: str, known: str) -> float:
    return SequenceMatcher(None, heard, known, autojunk=False).ratio()


def _least(likeness_min: float, *became: str) -> float:
    """How alike heard letters must be to become these grammar words: more where one is an action word."""
    return max(likeness_min, ACTION_SAME_MIN) if ACTION_WORDS.intersection(became) else likeness_min


class Nearest:
    """Sentences of a grammar automaton (intents.grammar.build_fsm) nearest to a list of words."""

    def __init__(self, dfa: Dfa):
        self.start, self.finals = dfa.start, dfa.finals
        self.out: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for src, dst, word in dfa.arcs:
            self.out[src].append((word, dst))
        self.known = frozenset(word for _, _, word in dfa.arcs)

    def _dropped(self, word: str) -> float | None:
        """What leaving a heard word out costs (None: it may not be left out)."""
        if word in NEVER_DROPPED or word in ACTION_WORDS:
            return None
        if word not in self.known:
            return SKIP
        return LIGHT if len(word) <= 3 and word not in ACTION_WORDS else None

    def sentences(self, words: list[str], k: int = 6) -> list[tuple[float, str]]:
        """Up to k (cost, sentence) pairs, cheapest first, distinct sentences, cost <= MAX_COST."""
        n = len(words)
        if not n:
            return []
        found: dict[str, float] = {}
        popped: dict[tuple[int, int], int] = defaultdict(int)
        queue: list[tuple[float, int, int, tuple[str, ...]]] = [(0.0, 0, self.start, ())]
        steps = 0
        while queue and len(found) < k and steps < MAX_STEPS:
            cost, pos, state, said = heapq.heappop(queue)
            steps += 1
            if pos == n and state in self.finals:
                found.setdefault(" ".join(said), cost)
                continue
            popped[(pos, state)] += 1
            if popped[(pos, state)] > k:
                continue

            def push(extra: float, to_pos: int, to_state: int, more: tuple[str, ...]) -> None:
                if cost + extra <= MAX_COST:
                    heapq.heappush(queue, (cost + extra, to_pos, to_state, said + more))

            if pos < n and (dropped := self._dropped(words[pos])) is not None:
                push(dropped, pos + 1, state, ())
            for word, dst in self.out.get(state, ()):
                if pos >= n:  # nothing is added after the last word heard: Whisper may have stopped early
                    continue  # ("Turn on the coffee" is not "turn on the coffee machine")
                if word not in ACTION_WORDS:
                    push(LIGHT if len(word) <= 3 else HEAVY, pos, dst, (word,))
                heard = words[pos]
                if heard in NEVER_DROPPED:  # only ever itself: not "on" for "no", nor joined into "lightno"
                    if heard == word:
                        push(0.0, pos + 1, dst, (word,))
                    continue
                same = likeness(heard, word)
                if same >= _least(SAME_MIN, word):
                    push(1.0 - same, pos + 1, dst, (word,))
                if pos + 1 < n and words[pos + 1] not in NEVER_DROPPED:
                    joined = likeness(heard + words[pos + 1], word)
                    if joined >= _least(JOINED_MIN, word):
                        push(1.0 - joined + JOIN, pos + 2, dst, (word,))
                if len(heard) >= len(word) + 2 and heard[0] == word[0]:
                    for second, dst2 in self.out.get(dst, ()):
                        split = likeness(heard, word + second)
                        if split >= _least(JOINED_MIN, word, second):
                            push(1.0 - split + JOIN, pos + 1, dst2, (word, second))
        return sorted(((cost, text) for text, cost in found.items()), key=lambda pair: pair[0])
