"""Why a sentence with a number did not match when only its number is wrong: "150 percent" is out of the
brightness range 0-100. The sentence is tried again with the number replaced by one each range list
accepts; if that matches, the number was the problem, and the range of the slot it fills is said."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Iterator

from ..numbers import number_words

if TYPE_CHECKING:
    from ..messages import Intent
    from .language import Language

MAX_NUMBERS = 3  # numbers tried per sentence: a not-understood sentence should not cost many matches


@dataclass(frozen=True)
class NumberRange:
    """A range list of the sentence file: whole numbers start..stop by step; the slot gets n * multiplier."""

    start: int
    stop: int
    step: int = 1
    multiplier: int = 1

    def accepts(self, n: int) -> bool:
        return self.start <= n <= self.stop and (n - self.start) % self.step == 0


@lru_cache(maxsize=1)
def _spoken_numbers() -> dict[tuple[str, ...], int]:
    return {tuple(form.split()): n for n in range(10000) for form in number_words(n)}


def numbers_in(words: list[str]) -> Iterator[tuple[int, int, int]]:
    """(first word, end, value) of each number in normalized words: digits or number words, signed by a
    leading "minus" or "plus"."""
    spoken = _spoken_numbers()
    longest = max(map(len, spoken))
    i = 0
    while i < len(words):
        sign, at = {"minus": -1, "plus": 1}.get(words[i], 0), i
        if sign:
            at += 1
        end, value = at, None
        if at < len(words) and words[at].isdigit():
            end, value = at + 1, int(words[at])
        else:
            for n in range(min(longest, len(words) - at), 0, -1):
                if tuple(words[at:at + n]) in spoken:
                    end, value = at + n, spoken[tuple(words[at:at + n])]
                    break
        if value is None:
            i += 1
            continue
        yield i, end, value * (sign or 1)
        i = end


def out_of_range(language: "Language", words: str,
                 match_pieces: Callable[["Language", tuple[str, ...]], "tuple[Intent, ...] | None"]) -> str | None:
    """Why `words` (normalized, matching nothing) would match but for a number, or None."""
    tokens = words.split()
    for start, end, value in list(numbers_in(tokens))[:MAX_NUMBERS]:
        said = " ".join(tokens[start:end])
        for list_name, numbers in language.ranges.items():
            if numbers.accepts(value):
                continue
            probe = " ".join(tokens[:start] + [str(numbers.start)] + tokens[end:])
            for intent in match_pieces(language, tuple(probe.split(" and "))) or ():
                for slot, got in intent.slots.items():
                    if list_name in language.range_slots.get(slot, ()) and \
                            str(got) == str(numbers.start * numbers.multiplier):
                        takes = f"{slot} takes {numbers.start}-{numbers.stop}"
                        if numbers.start <= value <= numbers.stop:
                            return f"{said} is between the steps: {takes} in steps of {numbers.step}"
                        return f"{said} is out of range: {takes}"
    return None
