"""Recognizer grammars generated from the same templates the matcher uses.

- JSGF for PocketSphinx: one rule per slot list and expansion rule, commands joined by "and".
- A phrase list for Vosk (its grammar is a set of phrases it may string together in any order).
Only speakable words go in: digit forms of numbers ("2700") are matcher-only and are dropped here.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

from .fsm import Dfa, Nfa, determinize, minimize
from .language import PREVIOUS, Language, in_grammar

_WORD_RE = re.compile(r"^[a-z][a-z']*$")
_RULE_RE = re.compile(r"[^A-Za-z0-9_]")
_CUT_LIST_AT = 40  # lists longer than this become phrases of their own in the Vosk grammar
# Questions and "never mind" are said on their own, never after "and". Keeping them out of the second
# and later parts of a compound removes paths the decoder used to soak up a trailing breath or noise
# ("... warmer" heard as "... white and are it off"). They may still *start* a compound: ending the
# command after them made ordinary speech decode as a lone question more often (fixtures: 5 of 35
# ordinary clips accepted instead of at most 3).
STANDALONE_INTENTS = frozenset({"HassGetState", "HassNevermind"})


@dataclass(frozen=True)
class Grammar:
    jsgf: str  # readable, and loadable by PocketSphinx, but slow there (see fsm.py)
    fsm: Dfa  # the same language as a minimal word automaton: what PocketSphinx decodes with
    vocabulary: frozenset[str]
    phrases: tuple[str, ...]  # for Vosk


@lru_cache(maxsize=4)
def grammar_for(language: Language) -> Grammar:
    """The grammar of a loaded Language, built once."""
    return build_grammar(language)


def build_grammar(language: Language, max_phrases: int = 60000) -> Grammar:
    from hassil import ListReference, RuleReference

    intents = language.intents
    rules: dict[str, str] = {}
    used_lists: set[str] = set()
    used_rules: set[str] = set()

    def jsgf(expr) -> str | None:
        """JSGF body for a hassil expression; None when it holds nothing speakable."""
        from hassil import Alternative, Permutation, Sequence, TextChunk

        if isinstance(expr, TextChunk):
            words = expr.text.split()
            return " ".join(words) if all(_WORD_RE.match(w) for w in words) else None
        if isinstance(expr, ListReference):
            used_lists.add(expr.list_name)
            return f"<list_{_RULE_RE.sub('_', expr.list_name)}>"
        if isinstance(expr, RuleReference):
            used_rules.add(expr.rule_name)
            return f"<rule_{_RULE_RE.sub('_', expr.rule_name)}>"
        if isinstance(expr, Permutation):
            orders = [" ".join(p) for p in itertools.permutations([jsgf(i) or "" for i in expr.items])]
            return "( " + " | ".join(o for o in orders if o.strip()) + " )"
        if isinstance(expr, Alternative):
            alts = [jsgf(i) for i in expr.items]
            spoken = list(dict.fromkeys(a for a in alts if a))
            if not spoken:
                return "" if "" in alts else None
            body = " | ".join(spoken)
            return f"[ {body} ]" if expr.is_optional or "" in alts else f"( {body} )"
        if isinstance(expr, Sequence):
            parts = [jsgf(i) for i in expr.items]
            if any(p is None for p in parts):
                return None
            return " ".join(p for p in parts if p)
        return None

    sentences = [(intent.name, jsgf(s.expression)) for intent in intents.intents.values()
                 for data in intent.data if in_grammar(data) for s in data.sentences]
    done_lists: set[str] = set()
    done_rules: set[str] = set()
    while used_lists - done_lists or used_rules - done_rules:  # rules may reference more rules and lists
        for name in sorted(used_rules - done_rules):
            done_rules.add(name)
            rules[f"rule_{_RULE_RE.sub('_', name)}"] = jsgf(intents.expansion_rules[name].expression) or "<VOID>"
        for name in sorted(used_lists - done_lists):
            done_lists.add(name)
            spoken = [w for v in intents.slot_lists[name].values for w in _expand_plain(v.text_in)]
            rules[f"list_{_RULE_RE.sub('_', name)}"] = _trie_jsgf(spoken) or "<VOID>"
    lines = ["#JSGF V1.0;", "grammar assistant;",
             "public <command> = ( <standalone> | <action> ) ( and <action> )*;",
             "<standalone> = " + _alternatives(s for n, s in sentences if n in STANDALONE_INTENTS) + ";",
             "<action> = " + _alternatives(s for n, s in sentences if n not in STANDALONE_INTENTS) + ";"]
    lines += [f"<{name}> = {body};" for name, body in rules.items()]
    text = "\n".join(lines) + "\n"
    vocabulary = frozenset(t for t in re.split(r"[\s()|\[\];*=]+", "\n".join(lines[2:]))
                           if _WORD_RE.match(t)) | {"and"}
    phrases = tuple(_phrases(language, max_phrases)) or tuple(sorted(vocabulary))
    return Grammar(text, build_fsm(language), vocabulary, phrases)


def build_fsm(language: Language) -> Dfa:
    """Minimal DFA over words for: sentence ("and" action)*, where an action is any sentence but a
    question or a cancel (STANDALONE_INTENTS)."""
    from hassil import Alternative, ListReference, Permutation, RuleReference, Sequence, TextChunk

    intents = language.intents
    nfa = Nfa()
    blocked_lists: set[str] = set()

    def build(expr, src: int) -> int | None:
        """Add `expr` after state `src`; return its end state, or None if nothing speakable."""
        if isinstance(expr, TextChunk):
            words = expr.text.split()
            return nfa.words(src, words) if all(_WORD_RE.match(w) for w in words) else None
        if isinstance(expr, (ListReference, RuleReference, Alternative, Permutation)):
            if isinstance(expr, ListReference):
                if expr.list_name in blocked_lists:
                    return None
                items, optional = [v.text_in for v in intents.slot_lists[expr.list_name].values], False
            elif isinstance(expr, RuleReference):
                items, optional = [intents.expansion_rules[expr.rule_name].expression], False
            elif isinstance(expr, Permutation):
                items = [Sequence(items=list(p)) for p in itertools.permutations(expr.items)]
                optional = False
            else:
                items, optional = expr.items, expr.is_optional
            end = nfa.state()
            reached = optional
            if optional:
                nfa.arc(src, end)
            for item in items:
                item_end = build(item, src)
                if item_end is not None:
                    nfa.arc(item_end, end)
                    reached = True
            return end if reached else None
        if isinstance(expr, Sequence):
            state: int | None = src
            for item in expr.items:
                state = build(item, state)
                if state is None:
                    return None
            return state
        return None

    def sentences(src: int, final: int, skip: frozenset[str] = frozenset()) -> None:
        for intent in intents.intents.values():
            if intent.name in skip:
                continue
            for data in filter(in_grammar, intent.data):
                for sentence in data.sentences:
                    end = build(sentence.expression, src)
                    if end is not None:
                        nfa.arc(end, final)

    # "it" names the previous device, so the first command cannot use it: a grammar that allowed it
    # there only gave ordinary speech more ways to look like a command.
    pronoun_free = {name for name, values in intents.slot_lists.items()
                    if values.values and all(v.value_out == PREVIOUS for v in values.values)}
    start, first, joined, final = nfa.state(), nfa.state(), nfa.state(), nfa.state()
    blocked_lists.update(pronoun_free)
    sentences(start, first)
    blocked_lists.clear()
    sentences(joined, final, STANDALONE_INTENTS)
    nfa.arc(first, joined, "and")
    nfa.arc(final, joined, "and")
    return minimize(determinize(nfa, start, {first, final}))


def _alternatives(bodies) -> str:
    return " | ".join(f"( {b} )" for b in dict.fromkeys(bodies) if b) or "<VOID>"


def _expand_plain(expr) -> list[str]:
    """All word strings of a small template (a slot value); unspeakable branches are dropped."""
    from hassil import Alternative, Group, TextChunk

    if isinstance(expr, TextChunk):
        words = expr.text.split()
        return [" ".join(words)] if all(_WORD_RE.match(w) for w in words) else []
    if isinstance(expr, Alternative):
        return [x for item in expr.items for x in _expand_plain(item)] + ([""] if expr.is_optional else [])
    if isinstance(expr, Group):
        combos = [""]
        for item in expr.items:
            combos = [f"{a} {b}" for a in combos for b in _expand_plain(item)]
        return [" ".join(c.split()) for c in combos]
    return []


def _trie_jsgf(strings: list[str]) -> str:
    """Alternatives sharing their first words, so "fifty", "fifty one".. "fifty nine" cost one "fifty" arc:
    PocketSphinx inlines every rule reference, and flat number lists made its search graph ten times larger."""
    trie: dict = {}
    for text in dict.fromkeys(s for s in strings if s):
        node = trie
        for word in text.split():
            node = node.setdefault(word, {})
        node[""] = {}

    def body(node: dict) -> str:
        alts = []
        for word, child in node.items():
            if not word:
                continue
            rest = {k: v for k, v in child.items() if k}
            if not rest:
                alts.append(word)
            elif "" in child:
                alts.append(f"{word} [ {body(child)} ]")
            else:
                alts.append(f"{word} {body(child)}")
        return alts[0] if len(alts) == 1 else "( " + " | ".join(alts) + " )"

    return body(trie) if trie else ""


def _phrases(language: Language, limit: int) -> list[str]:
    """Speakable phrases for Vosk: whole sentences, except that long lists (numbers) are cut out as
    phrases of their own, which keeps the list small. [] if it still exceeds `limit`."""
    from hassil import Alternative, ListReference, Permutation, RuleReference, Sequence, TextChunk

    intents = language.intents
    cut = "\x00"
    extra: dict[str, None] = {"and": None}

    def expand(expr) -> list[str]:
        if isinstance(expr, TextChunk):
            words = expr.text.split()
            return [" ".join(words)] if all(_WORD_RE.match(w) for w in words) else []
        if isinstance(expr, ListReference):
            values = [x for v in intents.slot_lists[expr.list_name].values for x in expand(v.text_in)]
            if len(values) > _CUT_LIST_AT:
                extra.update(dict.fromkeys(" ".join(v.split()) for v in values if v.split()))
                return [cut]
            return values
        if isinstance(expr, RuleReference):
            return expand(intents.expansion_rules[expr.rule_name].expression)
        if isinstance(expr, (Alternative, Permutation)):
            out = [x for item in expr.items for x in expand(item)]
            if isinstance(expr, Permutation):  # rare; order-free lists are covered by the phrase loop
                return out
            return out + ([""] if expr.is_optional else [])
        if isinstance(expr, Sequence):
            combos = [""]
            for item in expr.items:
                options = expand(item)
                combos = [f"{a} {b}" for a in combos for b in options]
                if len(combos) > limit:
                    raise OverflowError
            return combos
        return []

    out: dict[str, None] = {}
    try:
        for intent in intents.intents.values():
            for data in filter(in_grammar, intent.data):
                for sentence in data.sentences:
                    for text in expand(sentence.expression):
                        for piece in text.split(cut):
                            if piece.split():
                                out[" ".join(piece.split())] = None
                    if len(out) > limit:
                        return []
    except OverflowError:
        return []
    return list(out) + [p for p in extra if p not in out]
