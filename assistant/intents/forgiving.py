"""What a person or a recognizer writes -> the plain words the templates are written in.

normalize() folds case, accents, punctuation, "%" and digits' commas; polite() also drops what carries no
command ("please", "can you", "ok", "um", "for me", "thank you") and opens contractions ("what's"). Near
misses of the home's names ("best lamp" for "desk lamp") are found by near_names(), which the matcher tries
only where the rest of the sentence fits a template word for word.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Iterable

_SPELLINGS = {"nevermind": "never mind", "colour": "color", "percentage": "percent", "okay": "ok",
              "lite": "light", "lites": "lights", "grey": "gray"}  # written forms only
_CONTRACTIONS = {"what's": "what is", "whats": "what is", "it's": "it is", "that's": "that is",
                 "how's": "how is", "where's": "where is", "i'd": "i would", "let's": "let us",
                 "isn't": "is not", "aren't": "are not", "don't": "do not", "doesn't": "does not",
                 "can't": "can not", "cannot": "can not", "won't": "will not", "i'm": "i am",
                 "you're": "you are", "they're": "they are", "we're": "we are", "there's": "there is"}
# Said before a command without changing it. Longest first: "can you please" before "can you".
_LEADING = sorted((tuple(p.split()) for p in (
    "please", "pls", "plz", "hey", "hi", "hello", "ok", "alright", "all right", "right", "so", "now", "um", "uh",
    "umm", "uhm", "er", "erm", "hmm", "well", "oh", "yes", "yeah", "jarvis", "hey jarvis", "ok jarvis",
    "can you", "could you", "would you", "will you", "can you please", "could you please",
    "would you please", "will you please", "please can you", "please could you", "would you mind",
    "i want you to", "i would like you to", "i need you to", "go ahead and", "just", "quickly", "kindly",
    "do me a favor and", "be a dear and", "dear", "then", "and then", "also", "i would like", "i want",
    "i need", "i would love", "let us", "lets", "i would like you to", "i want you to",
    "i would be grateful if you could", "i would be grateful if you would", "i would be ever so grateful if you could",
    "i would be ever so grateful if you would", "would you be so kind as to", "could you be so kind as to",
    "be a love and", "be a dear and", "do me a favor and", "can i have", "can we have", "could i have",
    "could we have", "may i have", "may we have", "i would like to have", "we need", "we want")),
    key=len, reverse=True)
_TRAILING = sorted((tuple(p.split()) for p in (
    "please", "pls", "plz", "thanks", "thank you", "thank you very much", "thanks a lot", "for me", "for me please",
    "now", "right now", "now please", "would you", "will you", "could you", "can you", "ok", "dear", "jarvis",
    "if you can", "if you could", "if you would", "if you do not mind", "would you please", "thank you jarvis",
    "at once", "straight away", "quickly")), key=len, reverse=True)
# A sentence starting with one of these asks; it is never guessed into a command ("is the desk lamp switched
# on", "are the kitchen lights on"). Not "can" or "could": "can the lamp be green" asks for a change.
QUESTION_WORDS = frozenset({"is", "are", "was", "were", "did", "does", "do", "has", "have", "had", "what", "which",
                            "who", "when", "where", "why", "how", "will", "would", "should", "shall", "am", "if",
                            "whether"})
MIN_LETTERS = 0.55  # below this share of letters in common, a sound-alike is a coincidence
NEGATIONS = frozenset({"not", "never", "no", "nothing", "dont", "stop"})


def normalize(text: str) -> str:
    """Lowercase words and digits only: "Set it to 50%!" -> "set it to 50 percent", "tûrn ön" -> "turn on"."""
    # Accents folded (NFKD, combining marks dropped), else "tûrn" would lose its letter and match nothing.
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.lower().replace("\u2019", "'").replace("%", " percent ").replace("per cent", "percent")
    # A sign before a number stays a word, so "-5 percent" matches nothing instead of 5 percent.
    text = re.sub(r"[-\u2212\u2013+]\s*(?=\d)", lambda m: " minus " if m.group(0)[0] != "+" else " plus ", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 2,700 -> 2700
    # A decimal is one number, not two: "5.30%" is not "5 30 percent" (where a guess took the 30). Kept as
    # one word no number slot takes, it is understood as nothing rather than as one of its halves.
    text = re.sub(r"(?<=\d)[.,](?=\d)", "point", text)
    text = re.sub(r"(?<=\d)\s*k\b", " kelvin", text)  # 2700k -> 2700 kelvin
    text = re.sub(r"[^a-z0-9']+", " ", text)
    words = [w.strip("'") for w in text.split()]
    return " ".join(_SPELLINGS.get(w, w) for w in words if w)


def polite(words: str) -> str:
    """normalize()d words without the politeness and fillers around a command, contractions opened."""
    tokens: list[str] = []
    for word in words.split():
        tokens.extend(_CONTRACTIONS.get(word, word).split())
    tokens = [t for t in tokens if t not in ("please", "pls", "plz")]  # "turn the lamp please on"
    text = " ".join(tokens).replace(" and then ", " and ")  # "put the light on and then dim it"
    tokens = [t[:-2] if t.endswith("'s") else t for t in text.split()]  # "the corner lamp's colour"
    changed = True
    while changed and tokens:
        changed = False
        for phrase in _LEADING:
            if tuple(tokens[:len(phrase)]) == phrase and len(tokens) > len(phrase):
                tokens, changed = tokens[len(phrase):], True
                break
        for phrase in _TRAILING:
            if tuple(tokens[-len(phrase):]) == phrase and len(tokens) > len(phrase):
                tokens, changed = tokens[:-len(phrase)], True
                break
    return " ".join(tokens)


def negated(words: str) -> bool:
    """Whether the words hold a negation: such a sentence is never guessed at ("do not turn on the light")."""
    return bool(NEGATIONS & set(words.split()))


# --- near misses of the home's names ----------------------------------------------------------------------

_SOUNDS = str.maketrans({"b": "p", "d": "t", "g": "k", "c": "k", "q": "k", "v": "f", "z": "s", "x": "k",
                         "n": "m", "w": "", "h": "", "y": "", "e": "a", "i": "a", "o": "a", "u": "a"})


@lru_cache(maxsize=4096)
def sound(words: str) -> str:
    """A rough sound key: voiced and unvoiced consonants and all vowels fall together ("best" ~ "desk")."""
    key = words.replace(" ", "").replace("ph", "f").replace("ck", "k").translate(_SOUNDS)
    return re.sub(r"(.)\1+", r"\1", key)


def similarity(said: str, name: str) -> float:
    """0-1: how close a run of heard words is to a name, by letters or by rough sound ("purer fire" ~
    "purifier"), whichever is closer; never more than the letters allow (MIN_LETTERS)."""
    pair = SequenceMatcher(None, said.replace(" ", ""), name.replace(" ", ""))
    if pair.quick_ratio() < MIN_LETTERS:  # an upper bound, cheap: most runs of words end here
        return 0.0
    letters = pair.ratio()
    if letters < MIN_LETTERS:
        return letters
    return max(letters, SequenceMatcher(None, sound(said), sound(name)).ratio())


# Rooms and things a home may have that this one's registry may not: a word of these is what was said, never a
# near miss of another name ("bathroom" sounds like "bedroom" to a rough key; it is another room).
OTHER_THINGS = frozenset("""bathroom bathrooms hallway hall garage garden basement attic toilet loo dining nursery
porch study lounge patio laundry closet cellar balcony kids guest tv television fan fans heater heating radio
oven fridge stove kettle toaster door doors window windows lock alarm speaker music computer fireplace
dishwasher washing dryer boiler thermostat camera doorbell vacuum sprinkler pool upstairs downstairs floor""".split())


# Words for a kind of thing rather than its name; near misses never swap one of these away.
KIND_WORDS = frozenset("""light lights lamp lamps lighting bulb bulbs blind blinds shade shades curtain curtains
fan fans plug plugs socket sockets outlet outlets switch switches""".split())
_ARTICLES = frozenset({"the", "a", "an", "my", "our", "that", "this", "all", "every"})
_NOT_IN_A_NAME = _ARTICLES | frozenset("""make turn set switch put dim open close raise lower start stop on off to
in of and it is are by at for with from up down""".split())


def near_names(words: str, names: Iterable[str], min_similarity: float,
               max_words: int = 4) -> list[tuple[float, str, str]]:
    """(similarity, name, sentence) for each run of words that is close to (but not) a name, with the run
    replaced by the name; closest first."""
    tokens = words.split()
    names = tuple(names)
    single = {n for n in names if " " not in n}
    found: list[tuple[float, str]] = []
    for start in range(len(tokens)):
        for end in range(start + 1, min(len(tokens), start + max_words) + 1):
            said = " ".join(tokens[start:end])
            if len(said) < 4:
                continue
            if said in names:
                continue  # a name already: never swapped for another
            if all(w in KIND_WORDS or w in _ARTICLES for w in tokens[start:end]):
                continue  # "the lamp" names no lamp: where there are several, asking beats guessing
            if {tokens[start], tokens[end - 1]} & _NOT_IN_A_NAME:
                continue  # "make the lamp" is not the "kitchen lamp": a name does not begin with "make"
            if any(" " in n and f" {n} " in f" {said} " for n in names):
                continue  # "living room lamp by": the name is said already; the word beside it is another word
            if any(w in OTHER_THINGS and not any(w in n.split() for n in names) for w in tokens[start:end]):
                continue
            for name in names:
                # "living room" is not a near miss of "living room lamp": the name only says more
                if f" {said} " in f" {name} " or abs(len(name) - len(said)) > max(3, len(name) // 2):
                    continue
                # a word that is a name of its own stays itself: "upstairs lights" is no near miss of
                # "downstairs lights" where "upstairs" is a floor
                if any(w in single and w not in name.split() for w in tokens[start:end]):
                    continue
                # nor a word for a kind of thing: "bedroom lights" is the room's lights, not "bedroom blind";
                # "kitchen lighting" is not the "kitchen ceiling"
                if any(w in KIND_WORDS and w not in name.split() for w in tokens[start:end]):
                    continue
                score = similarity(said, name)
                if score >= min_similarity:
                    found.append((score, name, " ".join(tokens[:start] + [name] + tokens[end:])))
    found.sort(key=lambda item: -item[0])
    return found


# What a request is about, by its words, when no sentence of Home Assistant's says it: only to answer "I can't
# do the weather here" instead of "no command matches"; never used to act.
_TOPICS = (
    ("timers", {"timer", "timers", "countdown"}),
    ("alarms and reminders", {"alarm", "remind", "reminder", "wake me"}),
    ("the weather", {"weather", "forecast", "rain", "raining", "snow", "snowing", "umbrella", "windy", "sunny"}),
    ("music and media", {"music", "song", "songs", "radio", "podcast", "playlist", "album", "volume", "play",
                         "television", "tv", "netflix"}),
    ("lists", {"shopping list", "list", "to do", "todo"}),
    ("the time and date", {"what time", "what day", "what date", "today's date", "what year", "days until"}),
    ("calls and messages", {"call", "phone", "message", "text", "email"}),
)


def topic_of(words: str) -> str | None:
    padded = f" {words} "
    for topic, keys in _TOPICS:
        if any(f" {key} " in padded for key in keys):
            return topic
    return None
