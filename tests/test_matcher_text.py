"""Typed and transcribed text as the matcher gets it: accents, and what it says when a number is out of range."""

from __future__ import annotations

import pytest

from assistant.config import load_settings
from assistant.intents import load_language, match, normalize
from assistant.messages import NotUnderstood

pytest.importorskip("hassil")


@pytest.fixture(scope="module")
def language():
    return load_language(load_settings())


def test_accents_are_folded_before_matching(language):
    """"tûrn ön" lost its accented letters ('t rn n the kitchen light') and matched nothing."""
    assert normalize("tûrn ön the kitchen light") == "turn on the kitchen light"
    [intent] = match(language, "Tûrn ön the kitchen light")
    assert (intent.name, dict(intent.slots)) == ("HassTurnOn", {"name": "kitchen_light"})
    result = match(language, "tûrn ön the tôaster")
    assert isinstance(result, NotUnderstood) and "'turn on the toaster'" in result.reason
