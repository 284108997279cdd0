"""The grammar's sentences nearest to words Whisper heard outside it (intents/nearest.py), on the real
language's automaton, and the fused decision that scores them (scores scripted, the real matcher)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.app import load_language
from assistant.config import load_settings
from assistant.fusion import FusionRule, decide, near_sentences
from assistant.intents import match
from assistant.intents.fsm import Dfa
from assistant.intents.grammar import grammar_for
from assistant.intents.nearest import MAX_COST, Nearest
from assistant.messages import Transcript


@pytest.fixture(scope="module")
def language():
    return load_language(load_settings())


@pytest.fixture(scope="module")
def near(language):
    return near_sentences(grammar_for(language).fsm)


@pytest.mark.parametrize("heard, meant", [
    ("Switch the purer fire one.", "switch the purifier on"),  # two words for one
    ("Could you open the window lights?", "open the window blinds"),
    ("Tone the air purifier to level far.", "turn the air purifier to level four"),
    ("Hope the blinds half wing.", "open the blinds halfway"),
    ("Line to 60%.", "set blinds to sixty percent"),  # a left-out word of the grammar's
])
def test_a_misheard_command_has_its_sentence_among_the_nearest(near, heard, meant):
    assert meant in near(heard)[:4]


def test_chat_far_from_every_command_has_no_near_sentence(near):
    """(Chat nearer to one, "the blinds in the office are broken", has candidates: Whisper scores them; but
    none gains an action word from a word that only looks a little like it: "broken" is not "on".)"""
    assert not [s for s in near("The blinds in the office are broken.") if set(s.split()) & {"on", "off"}]
    for text in ("Add eggs and bread to my list.", "Call my sister at work.",
                 "Had he married a more amiable woman, he might have been made still more respectable."):
        assert near(text) == []


def test_an_action_word_is_never_invented():
    """A sentence that would gain "off" (or "on", "up", ...) that nobody said is no candidate."""
    dfa = Dfa(0, frozenset({3}), ((0, 1, "turn"), (1, 2, "off"), (2, 3, "lamp"), (1, 4, "the"), (4, 3, "lamp")))
    found = [s for _, s in Nearest(dfa).sentences(["turn", "lamp"])]
    assert found == ["turn the lamp"]
    assert all(cost <= MAX_COST for cost, _ in Nearest(dfa).sentences(["turn", "of", "lamp"]))


def _scored(table: dict[str, float], default: float = -3.0):
    return lambda texts: [table.get(text, default) for text in texts]


def test_the_near_sentence_whisper_hears_best_is_acted_on(language, near):
    """Whisper wrote "Switch the purer fire one."; of the grammar's sentences near it, it scores "switch the
    purifier on" best against the audio (scores scripted here; tests/test_whisper.py scores real audio)."""
    understand = lambda text: match(language, text)  # noqa: E731
    g = Transcript("", 0.0, "pocketsphinx", rejected=True)
    n = Transcript("Switch the purer fire one.", 0.8, "whisper")
    rule = FusionRule(near_floor=-2.25, near_margin=1.0, near_rival=0.5)
    heard = {n.text: -0.4, "switch the purifier on": -1.6, "switch the purifier off": -3.0}
    chosen, how = decide(g, n, understand, rule, _scored(heard), near=near)
    assert how == "near" and chosen.text == "switch the purifier on" and not chosen.rejected
    # heard too poorly in the audio (under near_floor): not understood
    chosen, how = decide(g, n, understand, rule, _scored({**heard, "switch the purifier on": -2.4}), near=near)
    assert how == "reject" and chosen.rejected
    # its action turned round is heard nearly as well: not understood
    chosen, how = decide(g, n, understand, rule, _scored({**heard, "switch the purifier off": -1.9}), near=near)
    assert how == "reject"
    # another near sentence that means the same is no rival; one that means something else is, within the margin
    same = {**heard, "switch the air purifier on": -1.65}
    assert decide(g, n, understand, rule, _scored(same), near=near)[1] == "near"
    two = lambda text: ["switch the purifier on", "switch the kitchen light on"]  # noqa: E731
    chosen, how = decide(g, n, understand, rule, _scored({**heard, "switch the kitchen light on": -2.0}), near=two)
    assert how == "reject"
    chosen, how = decide(g, n, understand, rule, _scored({**heard, "switch the kitchen light on": -2.7}), near=two)
    assert how == "near" and chosen.text == "switch the purifier on"
    # optionally also near Whisper's own words
    assert decide(g, n, understand, replace(rule, near_gap=1.0), _scored(heard), near=near)[1] == "reject"
    # not looked for unless the rule says so
    assert decide(g, n, understand, FusionRule(near_floor=None), _scored(heard), near=near)[1] == "reject"


def test_words_that_change_a_command_are_never_dropped_nor_read_as_others(near):
    """"Turn on the kitchen light, no?" is not "turn on the kitchen light" ("no" is neither left out nor
    joined into "lightno"), and nothing is added after the last word heard ("Turn on the coffee")."""
    assert "turn on the kitchen light" in near("Turn on the kitchen light.")
    assert "turn on the kitchen light" not in near("Turn on the kitchen light, no?")
    assert not [s for s in near("Turn on the coffee") if s.startswith("turn on the coffee ")]
