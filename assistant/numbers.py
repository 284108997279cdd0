"""English number words: the spoken forms a range list accepts, for the matcher, the grammars and the
devices' spoken names (a neutral home: the language and the devices both use it, neither owns it)."""

from __future__ import annotations

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _below_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])


def _below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    if hundreds == 0:
        return _below_hundred(rest)
    head = _ONES[hundreds] + " hundred"
    return head if rest == 0 else f"{head} {_below_hundred(rest)}"


def number_words(n: int) -> tuple[str, ...]:
    """All the ways people say `n` (0-9999): 2700 -> "two thousand seven hundred", "twenty seven hundred"."""
    if not 0 <= n <= 9999:
        raise ValueError(f"number {n} is outside 0-9999")
    thousands, rest = divmod(n, 1000)
    if thousands == 0:
        forms = [_below_thousand(rest)]
    else:
        head = _ONES[thousands] + " thousand"
        forms = [head if rest == 0 else f"{head} {_below_thousand(rest)}"]
    if 1100 <= n and n % 100 == 0 and n % 1000 != 0:
        forms.append(_below_hundred(n // 100) + " hundred")  # "twenty seven hundred"
    if n == 100:
        forms.append("a hundred")
    return tuple(forms)

