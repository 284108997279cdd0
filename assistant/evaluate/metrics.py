"""Pure scoring functions: word error rate, message and intent matching, percentiles, ratios."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from typing import Any, Iterable, Sequence


def words(text: str | None) -> list[str]:
    """Lowercase words and digits, punctuation dropped: the unit WER counts in."""
    return re.sub(r"[^a-z0-9']+", " ", (text or "").lower()).split()


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1]


def wer(pairs: Iterable[tuple[str | None, str | None]]) -> float | None:
    """Corpus WER: total word edits over total reference words, for (reference, hypothesis) pairs.
    None when there are no reference words at all."""
    edits = total = 0
    for ref, hyp in pairs:
        r = words(ref)
        edits += edit_distance(r, words(hyp))
        total += len(r)
    return edits / total if total else None


def canonical(value: Any) -> str:
    """One text per JSON value: key order and int/float spelling (1 vs 1.0) do not matter."""
    def norm(v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, (int, float)):
            return int(v) if float(v).is_integer() else float(v)
        if isinstance(v, dict):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [norm(x) for x in v]
        return str(v)
    return json.dumps(norm(value), sort_keys=True, separators=(",", ":"))


def parse_payload(payload: Any) -> Any:
    """A published payload (JSON text) as a value; text that is not JSON stays text."""
    if isinstance(payload, (bytes, bytearray)):
        payload = payload.decode("utf-8", "replace")
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except ValueError:
            return payload
    return payload


def message_keys(messages: Iterable[tuple[str, Any]]) -> Counter:
    """(topic, payload) pairs -> multiset of topic + canonical parsed payload."""
    return Counter(f"{topic} {canonical(parse_payload(payload))}" for topic, payload in messages)


def messages_match(expected: Iterable[tuple[str, Any]], actual: Iterable[tuple[str, Any]]) -> bool:
    """Same set of messages (order free, duplicates counted): topic equal and parsed JSON payload equal."""
    return message_keys(expected) == message_keys(actual)


def intents_match(expected: Sequence[dict], actual: Sequence[dict]) -> bool:
    """Same intents in the same order, each with exactly the same slots."""
    return [canonical(i) for i in expected] == [canonical({"name": a["name"], "slots": a.get("slots", {})})
                                               for a in actual]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between closest ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def ratio(hits: int, total: int) -> float | None:
    return hits / total if total else None
