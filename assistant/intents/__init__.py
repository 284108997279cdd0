"""Sentence templates -> intents: the Language (templates + registry lists), the matcher, the grammars.

    language = load_language(settings, registry.names())   # the wiring (app.load_language) does this
    match(language, "turn off the kitchen light and close the blinds")
        -> (Intent("HassTurnOff", {"name": "kitchen_light"}), Intent("HassTurnOff", {"name": "living_room_blinds"}))
"""

from .language import Language, load_language
from .matcher import match, normalize

__all__ = ["Language", "load_language", "match", "normalize"]
