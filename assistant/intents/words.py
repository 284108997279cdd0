"""Where a word of the grammar is written: the sentence file, or the registry (a `say`, an area, or a name
whose spoken form is its default), so an error about the word can name the file and line to fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from ..config import YamlDoc, load_yaml
from ..errors import ConfigError
from .language import Language

MAX_PLACES = 3  # per word: enough to find it, short enough for one line


def _strings(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Every mapping key and string value in a YAML document, with its key path."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str):
                yield path + (key,), key
            yield from _strings(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, path + (i,))
    elif isinstance(node, str):
        yield path, node


def places(doc: YamlDoc, word: str) -> list[tuple[tuple, str]]:
    """(key path, 'FILE:LINE (key.path)') for each place `word` stands as a whole word in doc, comments aside."""
    pattern = re.compile(rf"(?<![a-z']){re.escape(word)}(?![a-z'])")
    out: dict[str, tuple] = {}
    for path, text in _strings(doc.data):
        if pattern.search(text.lower()):
            out.setdefault(f"{doc.path}:{doc.line(*path)} ({'.'.join(str(k) for k in path)})", path)
    return [(path, where) for where, path in out.items()]


def unknown_words_error(language: Language, words: tuple[str, ...], recognizer: str) -> ConfigError:
    """One line naming each unknown word and where it is written, and what to do about it."""
    docs = []
    for path in (language.path, language.home.source):
        if path and Path(path).is_file():
            try:
                docs.append(load_yaml(path))
            except ConfigError:
                pass  # it loaded a moment ago; if it changed since, the word is still named
    described, named = [], False
    for word in words:
        found = [p for doc in docs for p in places(doc, word)]
        # a registry name itself (devices.<name>): without a say: list it is spoken as written
        named = named or any(len(path) == 2 for path, where in found if where.startswith(str(language.home.source)))
        where = ", ".join(w for _, w in found[:MAX_PLACES])
        where += f" and {len(found) - MAX_PLACES} more" if len(found) > MAX_PLACES else ""
        described.append(f"{word!r} at {where}" if where else repr(word))
    fix = "fix the spelling, or use another word"
    if named:
        fix += "; a device, group or scene without a say: list is spoken as its name: give it one"
    return ConfigError(f"{recognizer}'s English dictionary has no pronunciation for {'; '.join(described)}; {fix}")
