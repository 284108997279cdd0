"""Home Assistant's fuzzy matcher: n-gram models trained from HA's own templates (shipped in
home-assistant-intents, read by hassil.fuzzy), for sentences no template matches word for word.

It is the last resort of the matcher and the least certain: its result carries a confidence from its score,
is translated like any HA match, and is dropped when that confidence is under MIN_CONFIDENCE. When the
installed packages do not carry it (hassil.fuzzy exists in hassil 3.2-3.8, the n-gram data in
home-assistant-intents 2025.9-2026.5), the matcher simply has no fuzzy layer.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from ..messages import Intent
from .forgiving import QUESTION_WORDS
from .language import Language

log = logging.getLogger(__name__)

# hassil's score is an average log-probability per word (higher is better; hassil drops below -13).
# Mapped to 0-1 by (score - FLOOR) / (CEILING - FLOOR). Chosen on the development texts (dev/text, tune split).
SCORE_FLOOR = -13.0
SCORE_CEILING = -2.0
MIN_CONFIDENCE = 0.35


# A guess must still carry the words of its action: "switch up the light" is no "turn on".
_ACTION_WORDS = {"HassTurnOn": {"on", "open", "raise", "lift", "activate", "start"},
                 "HassTurnOff": {"off", "close", "shut", "lower", "deactivate"}}


# Words of a story, a wish or a choice, not of a command: "the kitchen used to be yellow", "on or off".
_NOT_A_COMMAND = frozenset({"was", "were", "used", "been", "yesterday", "earlier", "ago", "or", "if", "maybe",
                            "wish", "think", "thought", "said", "says"})


def fuzzy_match(language: Language, words: str, area: str | None) -> tuple[Intent, ...] | None:
    tokens = set(words.split())
    if set(words.split()[:3]) & QUESTION_WORDS or tokens & _NOT_A_COMMAND:
        return None  # "excuse me, is the desk lamp on": a question is never guessed into a command
    if tokens & {"minus", "plus", "up", "down", "by"}:
        return None  # signs, directions and steps are what n-grams blur: "minus 5" is not 5, "up" not "on",
        # "lamp by 20" is not "lamp to 20"
    matcher = _matcher(language)
    if matcher is None:
        return None
    try:
        result = matcher.match(words, context_area=area)
    except Exception as exc:  # a fuzzy matcher failure is "not understood", never a crash
        log.warning("fuzzy matcher failed on %r: %s", words, exc)
        return None
    if result is None:
        return None
    from .ha import about, translate

    if about(result.intent_name) is not None:
        return None  # out of domain: never an action
    confidence = _confidence(result.score)
    if confidence < MIN_CONFIDENCE:
        return None
    if result.intent_name in _ACTION_WORDS and not tokens & _ACTION_WORDS[result.intent_name]:
        return None
    slots = {name: value.value for name, value in result.slots.items()}
    if not _numbers_said(words, slots):
        return None
    if result.name_domain and "domain" not in slots and "name" not in slots:
        slots["domain"] = result.name_domain
    if "area" in slots and slots["area"] is None:
        return None
    if not _targets_said(language, words, slots) or not 1000 <= slots.get("color_temp_kelvin", 1000) <= 10000:
        return None
    done = translate(result.intent_name, slots, language.home, words, confidence)
    return done if isinstance(done, tuple) else None


def _numbers_said(words: str, slots: dict) -> bool:
    """Every number the guess sets was said, as digits or words; else it is the n-grams' invention."""
    from .ranges import numbers_in

    said = {value for _, _, value in numbers_in(words.split())}
    for value in slots.values():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and int(value) not in said:
            return False
    return True


def _targets_said(language: Language, words: str, slots: dict) -> bool:
    """The names the guess acts on were said as they are ("upstairs" is not "downstairs"): near misses of a name
    are the matcher's to snap, where two names that fit make it ask."""
    registry, padded = language.home, f" {words} "
    said = lambda forms: any(f" {form} " in padded for form in forms)  # noqa: E731
    name, area = slots.get("name"), slots.get("area")
    if name in registry.devices and not said(registry.devices[name].say):
        return False
    if name in registry.groups and not said(registry.groups[name].say):
        return False
    if name in registry.scenes and not said(registry.scenes[name].say):
        return False
    return area is None or said((str(area).replace("_", " "),))


def _confidence(score: float | None) -> float:
    if score is None:
        return 0.0
    return round(max(0.0, min(1.0, (score - SCORE_FLOOR) / (SCORE_CEILING - SCORE_FLOOR))), 2)


def warm_up(language: Language) -> None:
    _matcher(language)


def available() -> bool:
    try:
        import hassil.fuzzy  # noqa: F401
        from home_assistant_intents import get_fuzzy_language  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=4)
def _matcher(language: Language):
    if not available():
        log.info("no fuzzy matcher in the installed hassil/home-assistant-intents; strict matching only")
        return None
    from hassil import Intents
    from hassil.fuzzy import FuzzyNgramMatcher, SlotCombinationInfo
    from hassil.ngram import Sqlite3NgramModel
    from home_assistant_intents import get_fuzzy_config, get_fuzzy_language, get_intents

    info = get_fuzzy_language(language.code)
    if info is None:
        return None
    config = get_fuzzy_config()
    matcher = FuzzyNgramMatcher(
        intents=Intents.from_dict(get_intents(language.code)),
        intent_models={
            name: Sqlite3NgramModel(order=model.order, words={w: str(i) for w, i in model.words.items()},
                                    database_path=model.database_path)
            for name, model in info.ngram_models.items()
        },
        intent_slot_list_names=config.slot_list_names,
        slot_combinations={
            intent: {combo: SlotCombinationInfo(context_area=c.context_area,
                                                name_domains=set(c.name_domains) if c.name_domains else None)
                     for combo, c in combos.items()}
            for intent, combos in config.slot_combinations.items()
        },
        domain_keywords=info.domain_keywords,
        stop_words=info.stop_words,
        slot_lists=dict(language.ha.slot_lists),
    )
    # The matcher tries the intents a slot combination fits in the order of a set of their names, and which
    # of two close scores it keeps (or whether it calls them a tie) follows that order: so the same words
    # were a command in one process and not in another (PYTHONHASHSEED). In name order they are the same
    # in every process.
    combos = getattr(matcher, "_slot_combo_intents", None)
    if isinstance(combos, dict):
        for combo, names in combos.items():
            combos[combo] = tuple(sorted(names))
    return matcher
