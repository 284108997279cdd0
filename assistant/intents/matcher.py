"""Text -> intents: our sentence file, then Home Assistant's, compound "X and Y" commands, lists, and "it".

Each "and"-joined part is matched word for word (after fillers and politeness are dropped), first against
our own sentences (they override), then Home Assistant's. Only when that fails is a near miss of one of the
home's names snapped to the name, and only when the rest of the sentence then fits word for word; last comes
Home Assistant's fuzzy matcher, which never acts on a sentence with a negation in it. Every intent says its
source and confidence. A request for something this assistant does not do (timers, weather, ...) is
NotUnderstood with `out_of_domain` set.

Pure and synchronous; never raises for odd text (anything it cannot match is NotUnderstood).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from ..messages import Intent, NotUnderstood
from .forgiving import QUESTION_WORDS, near_names, negated, normalize, polite, topic_of
from .language import HERE, PREVIOUS, Language
from .ranges import out_of_range

log = logging.getLogger(__name__)

_TARGET_SLOTS = ("name", "group", "area", "domain")
_TEXT_SLOTS = ("fan_mode",)  # "speed three" -> "3": the schema wants the fan mode as text
# At most this many "and"-joined parts in one utterance; more is not understood. Nobody gives six orders in
# one breath, so a longer chain is a runaway transcript or pasted text, and splitting it costs hassil
# matches in the square of its length (500 parts: over 100,000).
MAX_PARTS = 5
MAX_RUN = 2
# Longer than this, a sentence is no request Home Assistant's other intents or its fuzzy guess can place (a
# rambling transcript): both are skipped, they cost 0.1-0.2 s each on a long one.
MAX_GUESS_WORDS = 14
# A run of heard words this close to one of the home's names (forgiving.similarity) may stand for it.
# Chosen on the development texts (dev/text, tune split): at 0.75 "what is the weather" became the heater.
MIN_NAME_SIMILARITY = 0.8
LEADING_WORD_CONFIDENCE = 0.9  # a command matched word for word once a stray word or two before it is left out
SNAP_MARGIN = 0.1  # a second name this close that also fits makes the snap ambiguous: not understood
_HERE = "\x00here"
# What a recognizer writes before a command that is no part of it: echoes of the wake word, of its prompt,
# and sounds (the home's own names are allowed too: "office, set the purifier to max").
_STRAY = frozenset("""this that just so and the a oh um uh ah yeah yes ok okay right now then hey alright well
jarvis travis harvey alexa mycroft rhasspy hi hello""".split())  # a stand-in area: does the sentence need one?
_FILLER_TARGET = re.compile(r"^(?:(?:also|and|too|then)\s+)*(?:the|my|our)?\s*(.+?)(?:\s+(?:too|also|as well))?$")

__all__ = ["MAX_PARTS", "match", "normalize"]


@dataclass(frozen=True)
class _Refused:
    """A part that fits a sentence but cannot be done: out of domain, or "here" with no area known."""

    reason: str
    out_of_domain: str | None = None
    needs_area: bool = False


_NEEDS_AREA = _Refused("which room? No area is set for this microphone (satellite.area in assistant.yaml); "
                       "say the room's name", needs_area=True)


def match(language: Language, text: str, area: str | None = None) -> tuple[Intent, ...] | NotUnderstood:
    """All intents in `text`, in order, or NotUnderstood saying why. `area`: where the microphone is."""
    joined_text = _PAUSE.sub(" and ", text)
    if joined_text == text:
        return _match_words(language, text, polite(normalize(text)), area)
    # "desk lamp off, bedroom light on", "the desk lamp, then the bedroom light": a comma or "then" between
    # two whole commands joins them as "and" does; where that fits nothing, it is only a pause.
    joined = _match_words(language, text, polite(normalize(joined_text)), area)
    if not isinstance(joined, NotUnderstood):
        return joined
    whole = _match_words(language, text, polite(normalize(text)), area)
    if isinstance(whole, NotUnderstood) and (joined.out_of_domain or joined.needs_area):
        return joined
    if isinstance(whole, NotUnderstood) and not whole.out_of_domain and not whole.needs_area:
        return _with_a_reason(language, text, area) or whole
    return whole


# Words that make a clause more than a reason given beside a command: it changes, questions or calls it off.
_NOT_A_REASON = frozenset({"no", "not", "never", "dont", "wait", "actually", "instead", "but", "or", "if",
                           "what", "which", "why", "how", "where", "who", "when", "rather", "except"})
REASON_CONFIDENCE = 0.75


def _with_a_reason(language: Language, text: str, area: str | None) -> tuple[Intent, ...] | None:
    """ "I need the blinds closed, the sun's in my eyes": one clause is a command, the others only say why.
    Only when no other clause names anything in this home, asks, or turns the command around. The other
    clauses are judged by their words alone (cheap); only the one clause that names something is matched."""
    clauses = [polite(normalize(c)) for c in _CLAUSE_END.split(text) if c.strip()]
    clauses = [c for c in clauses if c]
    if len(clauses) < 2:
        return None
    names = _names(language)
    naming = [c for c in clauses if any(f" {n} " in f" {c} " for n in names)]
    if len(naming) != 1:
        return None
    (command,) = naming
    for clause in clauses:
        if clause is not command and (_NOT_A_REASON & set(clause.split()) or topic_of(clause)):
            return None
    found = _match_words(language, command, command, area)
    if not isinstance(found, tuple):
        return None
    return tuple(replace(i, confidence=min(i.confidence, REASON_CONFIDENCE)) for i in found)


_BY_NUMBER = re.compile(r"\bby (?:\d|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
                        r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|"
                        r"seventy|eighty|ninety|a hundred|hundred)")
# not the comma of "2,700" or "2,5"
_PAUSE = re.compile(r"\s*;\s*|(?<!\d),\s*|\s*,(?!\d)\s*|\s+then\s+", re.IGNORECASE)
_CLAUSE_END = re.compile(r"\s*(?:[;!]|(?<!\d)[,.]|[,.](?!\d))\s*")  # not inside "2,700" or "5.30"


def _match_words(language: Language, text: str, words: str, area: str | None) -> tuple[Intent, ...] | NotUnderstood:
    if not words:
        return NotUnderstood(text, "nothing was said")
    pieces = tuple(words.split(" and "))
    if len(pieces) > MAX_PARTS:
        return NotUnderstood(text, f"too many commands in one sentence ({len(pieces)} parts joined by 'and'; "
                                   f"at most {MAX_PARTS})")
    intents = _match_pieces(language, pieces, area) or _targets_first(language, pieces, area)
    if intents is None:
        intents = _snapped(language, words, area)
    if intents is None:
        # Read by its parts before a refusal is looked for: it takes only exact names with every word
        # accounted for, so it cannot read a request for something else (a timer, "the lights" with no
        # room known), and it is cheap where the refusal's search is not.
        intents = _read(language, words, pieces, area)
    if intents is None:
        refused = _refused(language, words, area)
        if refused is not None:
            return NotUnderstood(text, refused.reason, refused.out_of_domain, refused.needs_area)
    if intents is None:
        intents = _guessed(language, words, pieces, area)
    if intents is None:
        why = out_of_range(language, words, lambda lang, p: _match_pieces(lang, p, area))
        if why is not None:
            return NotUnderstood(text, why)
        topic = topic_of(words)
        if topic is not None:
            return NotUnderstood(text, f"I can't do {topic} here", topic)
        unknown = _unknown_target(language, words, area)
        if unknown is not None:
            return NotUnderstood(text, unknown)
        return NotUnderstood(text, f"no command matches {words!r}")
    return _resolve_it(language, text, intents, area)


_COMMAND_VERBS = frozenset({"turn", "switch", "open", "close", "shut", "set", "dim", "brighten", "start", "activate",
                            "put", "lock", "unlock", "raise", "lower"})


def _unknown_target(language: Language, words: str, area: str | None) -> str | None:
    """ "turn on the television": a command of Home Assistant's for a name this home does not have."""
    if language.ha is None or negated(words) or words.split()[0] not in _COMMAND_VERBS or " and " in words:
        return None
    ha = language.ha
    found = _recognize(ha.commands, words, ha.slot_lists, {"area": area or _HERE}, allow_unmatched=True)
    if found is None:
        return None
    if found.intent.name not in ("HassTurnOn", "HassTurnOff", "HassLightSet", "HassSetPosition"):
        return None
    unknown = next((e.text.strip() for e in found.unmatched_entities_list if e.name == "name"), None)
    unknown = re.sub(r"^(?:the|my|our|a|an)\s+", "", unknown or "")
    if not unknown or len(unknown.split()) > 4 or unknown in _names(language):
        return None
    return f"there is no {unknown!r} here"


def _resolve_it(language: Language, text: str, intents: tuple[Intent, ...],
                area: str | None) -> tuple[Intent, ...] | NotUnderstood:
    resolved: list[Intent] = []
    for intent in intents:
        if intent.slots.get("name") == PREVIOUS:
            previous = next((i for i in reversed(resolved) if any(k in i.slots for k in _TARGET_SLOTS[:3])), None)
            phrase = None if previous is None else _spoken_target(language, previous)
            if phrase is None:
                return NotUnderstood(text, f"'it' in {intent.text!r} does not refer to a device named before it")
            # Said again with the name in place of "it", so "close it" after a light is what "close the
            # kitchen light" is: not a command (it was a turn-off).
            said = re.sub(r"\bit\b", phrase, intent.text)
            again = _strict(language, said, area)
            if not isinstance(again, tuple) or len(again) != 1:
                return NotUnderstood(text, f"no command matches {said!r} ('it' is {phrase})")
            intent = replace(again[0], text=intent.text, confidence=min(intent.confidence, again[0].confidence))
        resolved.append(intent)
    return tuple(resolved)


def _spoken_target(language: Language, intent: Intent) -> str | None:
    """How the target of an earlier intent is said, to stand in for "it"."""
    registry, slots = language.home, intent.slots
    if slots.get("name") in registry.devices:
        return f"the {registry.devices[slots['name']].spoken}"
    if slots.get("group") in registry.groups:
        return f"the {registry.groups[slots['group']].spoken}"
    if "area" in slots:
        return f"all the lights in the {slots['area']}" if slots.get("domain") == "light" else None
    return None


def _match_pieces(language: Language, pieces: tuple[str, ...], area: str | None,
                  one=None) -> tuple[Intent, ...] | None:
    """Split "a and b and c" into consecutive runs that each match (fewest runs first). A run that is only a
    target ("... and the desk lamp") repeats the run before it for that target."""
    one = one or _strict
    best: list[tuple[int, tuple[Intent, ...]] | None] = [(0, ())] + [None] * len(pieces)
    for end in range(1, len(pieces) + 1):
        # a run is at most MAX_RUN pieces: no sentence of ours or Home Assistant's joins more with "and",
        # and longer runs cost hassil a match each (a comma-strewn transcript of five names took 0.4 s)
        for start in range(max(0, end - MAX_RUN), end):
            if best[start] is None:
                continue
            runs, before = best[start]
            found = one(language, " and ".join(pieces[start:end]), area)
            if not isinstance(found, tuple) and before:
                found = _continued(language, before[-1], " and ".join(pieces[start:end]))
            if isinstance(found, tuple) and (best[end] is None or runs + 1 < best[end][0]):
                best[end] = (runs + 1, before + found)
    return None if best[-1] is None else best[-1][1]


def _continued(language: Language, previous: Intent, words: str) -> tuple[Intent, ...] | None:
    """ "turn on the kitchen light and the desk lamp": the part "the desk lamp" repeats the previous intent."""
    if not any(k in previous.slots for k in _TARGET_SLOTS) or "scene" in previous.slots:
        return None
    target = _target_of(language, words)
    if target is None:
        return None
    slots = {k: v for k, v in previous.slots.items() if k not in _TARGET_SLOTS}
    return (Intent(previous.name, {**target, **slots}, words, previous.source, previous.confidence),)


def _targets_first(language: Language, pieces: tuple[str, ...], area: str | None) -> tuple[Intent, ...] | None:
    """ "the kitchen light and the desk lamp off": targets first, the action said once at the end."""
    if len(pieces) < 2:
        return None
    targets = [_target_of(language, piece) for piece in pieces[:-1]]
    last = _strict(language, pieces[-1], area)
    if None in targets or not isinstance(last, tuple) or len(last) != 1:
        return None
    action = last[0]
    if not any(k in action.slots for k in _TARGET_SLOTS) or "scene" in action.slots:
        return None
    slots = {k: v for k, v in action.slots.items() if k not in _TARGET_SLOTS}
    return tuple(Intent(action.name, {**t, **slots}, p, action.source, action.confidence)
                 for t, p in zip(targets, pieces)) + last


def _target_of(language: Language, words: str) -> dict | None:
    registry = language.home
    found = _FILLER_TARGET.match(words)
    said = found.group(1) if found else words
    device = registry.device_by_spoken(said)
    if device is not None:
        return {"name": device.name}
    group = registry.group_by_spoken(said)
    if group is not None:
        return {"group": group.name}
    for area in registry.areas:
        if said in (f"{area} lights", f"{area} light", f"lights in the {area}", f"light in the {area}"):
            return {"area": area, "domain": "light"}
    return None


def _strict(language: Language, words: str, area: str | None) -> tuple[Intent, ...] | _Refused | None:
    return _cached_strict(language, words, area)


@lru_cache(maxsize=1024)
def _cached_strict(language: Language, words: str, area: str | None) -> tuple[Intent, ...] | _Refused | None:
    """One part, word for word: our sentences first, then Home Assistant's."""
    own = _recognize(language.intents, words)
    if own is not None:
        slots = {n: (str(e.value) if n in _TEXT_SLOTS else e.value) for n, e in own.entities.items()}
        if slots.get("area") == HERE or (own.intent_data.slots.get("domain") and not
                                         any(k in slots for k in ("name", "group", "area"))):
            if area is None:
                return _NEEDS_AREA
            slots["area"] = area
        return (Intent(own.intent.name, slots, words, "own", 1.0),)
    if language.ha is None:
        return None
    from .ha import translate

    ha = language.ha
    context = {"area": area} if area else None
    found = _recognize(ha.commands, words, ha.slot_lists, context)
    if found is not None:
        done = translate(found.intent.name, {n: e.value for n, e in found.entities.items()}, language.home,
                         words)
        if isinstance(done, tuple) and _BY_NUMBER.search(words) and \
                any("brightness" in i.slots or "position" in i.slots for i in done):
            return None  # HA reads "the lamp by 20" as brightness 20; "by" asks for a step (our sentences)
        return done if isinstance(done, tuple) else _Refused(done)
    if area is None and (here := _recognize(ha.commands, words, ha.slot_lists, {"area": _HERE})) is not None:
        # "close the curtains" with no room known: where every device of that domain is in one room (the
        # home has one set of blinds), the room is not in question
        from .ha import HA_DOMAIN

        domain = here.entities["domain"].value if "domain" in here.entities else None
        rooms = {d.area for kind, ha_domain in HA_DOMAIN.items() if ha_domain == domain
                 for d in language.home.of_kind(kind)}
        if len(rooms) == 1 and None not in rooms:
            return _cached_strict(language, words, rooms.pop())
        return _NEEDS_AREA
    return None


def _refused(language: Language, words: str, area: str | None) -> _Refused | None:
    """Why the whole sentence is refused: a part needs an area, or it is something this assistant doesn't do."""
    for piece in (words, *words.split(" and ")):
        found = _strict(language, piece, area)
        if isinstance(found, _Refused):
            return found
    if language.ha is None or len(words.split()) > MAX_GUESS_WORDS:
        return None
    from .ha import about

    ha = language.ha
    found = _recognize(ha.other, words, ha.slot_lists, {"area": area or _HERE})
    # With names left open ("set the alarm clock to 7"), but never over one of this home's names: "set the
    # blinds to half" is about the blinds, not the heating.
    if found is None and not any(f" {n} " in f" {words} " for n in _names(language)):
        found = _recognize(ha.other, words, ha.slot_lists, {"area": area or _HERE}, allow_unmatched=True)
    if found is None:
        return None
    what = about(found.intent.name) or "that"
    return _Refused(f"I can't do {what} here", out_of_domain=what)


def _snapped(language: Language, words: str, area: str | None) -> tuple[Intent, ...] | None:
    """Near misses, the rest word for word: a stray first word or two, or one name heard a little wrong
    ("close the blind", "turn on the purer fire"). Tried before a refusal: "close the blind" is the blinds
    here, not a question of which room's blinds."""
    if negated(words):
        return None
    tokens = words.split()
    if tokens[0] in QUESTION_WORDS:
        return None  # a question is never guessed into a command
    name_words = {w for n in _names(language) for w in n.split()}
    for drop in (1, 2):
        # A word or two before the command that belongs to no sentence: a recognizer's echo of the wake word
        # or of its prompt ("office, set the purifier to max", "this switch everything off"). Never a
        # subject and its verb: "she painted | the living room blue" is a story, not a command.
        if len(tokens) > drop + 2 and all(t in _STRAY or t in name_words for t in tokens[:drop]):
            found = _match_pieces(language, tuple(" ".join(tokens[drop:]).split(" and ")), area)
            if found:
                return tuple(replace(i, confidence=min(i.confidence, LEADING_WORD_CONFIDENCE)) for i in found)
    chosen = None
    for score, name, sentence in near_names(words, _names(language), MIN_NAME_SIMILARITY - SNAP_MARGIN)[:6]:
        if chosen is not None and score < chosen[0] - SNAP_MARGIN:
            break
        found = _match_pieces(language, tuple(sentence.split(" and ")), area)
        if not found:
            continue
        if chosen is None:
            if score < MIN_NAME_SIMILARITY:
                return None
            chosen = (score, found)
        elif [(i.name, i.slots) for i in found] != [(i.name, i.slots) for i in chosen[1]]:
            return None  # "best lamp": near "bedside lamp" and "desk lamp" alike; asking beats guessing
    if chosen is not None:
        return tuple(replace(i, confidence=round(min(i.confidence, chosen[0]), 2)) for i in chosen[1])
    return None


def _guessed(language: Language, words: str, pieces: tuple[str, ...],
             area: str | None) -> tuple[Intent, ...] | None:
    """Home Assistant's fuzzy matcher, for one command said in words no template has."""
    if negated(words) or words.split()[0] in QUESTION_WORDS or len(words.split()) > MAX_GUESS_WORDS:
        return None
    if len(pieces) == 1 and language.ha is not None:
        from .fuzzy import fuzzy_match

        return fuzzy_match(language, words, area)
    return None


def _read(language: Language, words: str, pieces: tuple[str, ...],
          area: str | None) -> tuple[Intent, ...] | None:
    """The sentence read by its parts (frames.read): each "and"-joined run a template or a read command."""
    from .frames import read

    def one(lang: Language, run: str, where: str | None):
        found = _strict(lang, run, where)
        if isinstance(found, tuple):
            return found
        return read(lang.home, run, where) or found  # "close the blind": the one blind here, not "which room?"

    return _match_pieces(language, pieces, area, one)


@lru_cache(maxsize=8)
def _names(language: Language) -> tuple[str, ...]:
    registry = language.home
    said = {s for d in registry.devices.values() for s in d.say} | {s for g in registry.groups.values() for s in g.say}
    said |= {s for sc in registry.scenes.values() for s in sc.say} | set(registry.areas) | set(registry.floors)
    return tuple(sorted(said))


def _recognize(intents, words: str, slot_lists=None, context=None, allow_unmatched: bool = False):
    from hassil import recognize_best

    try:
        return recognize_best(words, intents, slot_lists=slot_lists, intent_context=context,
                              allow_unmatched_entities=allow_unmatched, best_slot_name="name")
    except Exception as exc:  # hassil should not raise on text; if it does, it is still "not understood"
        log.warning("matcher failed on %r: %s", words, exc)
        return None
