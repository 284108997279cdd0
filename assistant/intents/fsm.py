"""A small word automaton toolkit: epsilon-NFA -> DFA -> minimal DFA.

PocketSphinx inlines every JSGF rule reference and adds silence arcs to every state, so the grammar
written as JSGF became a 13 000-state search graph decoding at 0.4 x real time. The same language as a
minimal DFA has a few hundred states and decodes an order of magnitude faster.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


class Nfa:
    """States are ints; arcs carry a word or None (epsilon)."""

    def __init__(self) -> None:
        self.arcs: list[list[tuple[str | None, int]]] = []

    def state(self) -> int:
        self.arcs.append([])
        return len(self.arcs) - 1

    def arc(self, src: int, dst: int, word: str | None = None) -> None:
        self.arcs[src].append((word, dst))

    def words(self, src: int, words: list[str]) -> int:
        for word in words:
            dst = self.state()
            self.arc(src, dst, word)
            src = dst
        return src


@dataclass(frozen=True)
class Dfa:
    start: int
    finals: frozenset[int]
    arcs: tuple[tuple[int, int, str], ...]  # (src, dst, word)

    @property
    def n_states(self) -> int:
        return 1 + max([self.start, *self.finals, *(max(a[0], a[1]) for a in self.arcs)])

    def accepts(self, words: list[str]) -> bool:
        table = {(s, w): d for s, d, w in self.arcs}
        state: int | None = self.start
        for word in words:
            state = table.get((state, word))
            if state is None:
                return False
        return state in self.finals


def determinize(nfa: Nfa, start: int, finals: set[int]) -> Dfa:
    closure_of: dict[int, frozenset[int]] = {}

    def closure(state: int) -> frozenset[int]:
        if state not in closure_of:
            seen, todo = {state}, [state]
            while todo:
                for word, dst in nfa.arcs[todo.pop()]:
                    if word is None and dst not in seen:
                        seen.add(dst)
                        todo.append(dst)
            closure_of[state] = frozenset(seen)
        return closure_of[state]

    first = closure(start)
    index = {first: 0}
    todo = [first]
    arcs: list[tuple[int, int, str]] = []
    dfa_finals = set()
    while todo:
        subset = todo.pop()
        src = index[subset]
        if subset & finals:
            dfa_finals.add(src)
        moves: dict[str, set[int]] = defaultdict(set)
        for state in subset:
            for word, dst in nfa.arcs[state]:
                if word is not None:
                    moves[word] |= closure(dst)
        for word, targets in moves.items():
            key = frozenset(targets)
            if key not in index:
                index[key] = len(index)
                todo.append(key)
            arcs.append((src, index[key], word))
    return Dfa(0, frozenset(dfa_finals), tuple(arcs))


def minimize(dfa: Dfa) -> Dfa:
    """Moore partition refinement, after dropping states that cannot reach a final state."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    back: dict[int, set[int]] = defaultdict(set)
    for src, dst, word in dfa.arcs:
        out[src][word] = dst
        back[dst].add(src)
    live, todo = set(dfa.finals), list(dfa.finals)
    while todo:
        for src in back[todo.pop()]:
            if src not in live:
                live.add(src)
                todo.append(src)
    if dfa.start not in live:
        return Dfa(0, frozenset(), ())
    states = sorted(live)
    block = {s: int(s in dfa.finals) for s in states}
    while True:
        signature = {s: (block[s], tuple(sorted((w, block[d]) for w, d in out[s].items() if d in live)))
                     for s in states}
        numbering: dict[tuple, int] = {}
        new_block = {s: numbering.setdefault(signature[s], len(numbering)) for s in states}
        if len(numbering) == len(set(block.values())):
            break
        block = new_block
    block = new_block
    ids = {b: i for i, b in enumerate(dict.fromkeys([block[dfa.start]] + [block[s] for s in states]))}
    arcs = {(ids[block[s]], ids[block[d]], w) for s in states for w, d in out[s].items() if d in live}
    finals = frozenset(ids[block[s]] for s in dfa.finals if s in live)
    return Dfa(ids[block[dfa.start]], finals, tuple(sorted(arcs)))
