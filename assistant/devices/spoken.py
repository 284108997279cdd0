"""What people would call a device, from its Zigbee2MQTT friendly name: 'hue_lamp_12' -> 'hue lamp twelve'.

The result must be words the recognizers can say: lowercase ASCII letters (accents folded: 'Café' ->
'cafe'), and numbers written out as the sentence grammar writes them (assistant/numbers.py), so
"lamp 12" and "lamp 13" stay two names. Whether the recognizer knows each word is asked elsewhere.
"""

from __future__ import annotations

import re
import unicodedata

from ..numbers import number_words

MAX_SPOKEN_NUMBER = 9999  # number_words' range


# Letters that NFKD leaves whole, with their usual English spelling.
_SPELLED = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l",
                          "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "Þ": "Th", "ð": "d", "ı": "i"})


def fold(text: str) -> str:
    """'Küche Straße' -> 'Kuche Strasse': accents dropped, a few letters spelled out; other scripts kept."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPELLED))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Unspeakable(ValueError):
    """A name with no spoken form; the message says why, for a person."""


def speakable(name: str) -> str:
    """'Living_Room-Lamp2' -> 'living room lamp two'; 'Kitchen/Ceiling' -> 'kitchen ceiling';
    'Küche Lampe' -> 'kuche lampe'."""
    folded = fold(name)
    foreign = list(dict.fromkeys(c for c in folded if c.isalpha() and not c.isascii()))
    if foreign:
        raise Unspeakable(f"its name has letters with no English spelling ({' '.join(foreign)})")
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", folded)
    words = re.sub(r"([0-9]+)", r" \1 ", words)
    out = []
    for word in re.split(r"[\s_\-./]+", words.lower()):
        if re.fullmatch(r"[0-9]+", word):
            if int(word) > MAX_SPOKEN_NUMBER:
                raise Unspeakable(f"its number {word} has no spoken form here (numbers up to "
                                  f"{MAX_SPOKEN_NUMBER} are said as words)")
            out.append(number_words(int(word))[0])
        else:
            out.append(re.sub(r"[^a-z']", "", word))
    spoken = " ".join(w for w in out if w)
    if not spoken:
        raise Unspeakable("its name has no word to say")
    return spoken


def try_speakable(name: str) -> str | None:
    try:
        return speakable(name)
    except Unspeakable:
        return None
