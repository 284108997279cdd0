"""YAML with line numbers: every config loader reads its file through load_yaml, so an error can name the
file, the 1-based line and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


class YamlDoc:
    """A parsed YAML document that remembers the line of every mapping key and list item."""

    def __init__(self, path: Path, data: Any, lines: dict[tuple, int]):
        self.path = path
        self.data = data
        self._lines = lines

    def line(self, *key_path: Any) -> int | None:
        for n in range(len(key_path), -1, -1):
            line = self._lines.get(tuple(key_path[:n]))
            if line is not None:
                return line
        return None

    def error(self, message: str, *key_path: Any) -> ConfigError:
        line = self.line(*key_path)
        where = f"{self.path}:{line}" if line else str(self.path)
        key = ".".join(str(k) for k in key_path)
        return ConfigError(f"{where}: {key + ': ' if key else ''}{message}")


def _plain(node: yaml.Node, path: tuple, lines: dict[tuple, int], doc_path: Path) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(f"{doc_path}:{key_node.start_mark.line + 1}: keys must be plain words")
            key = key_node.value
            if key in out:
                raise ConfigError(f"{doc_path}:{key_node.start_mark.line + 1}: duplicate key {key!r}")
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _plain(value_node, path + (key,), lines, doc_path)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, path + (i,), lines, doc_path) for i, item in enumerate(node.value)]
    # Scalars: let the safe loader resolve the type (int, float, bool, null, str).
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load_yaml(path: Path | str) -> YamlDoc:
    """Parse a YAML file safely (never evaluates anything); errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as exc:  # a control character: not a "marked" error, so find its line
        line = text[: exc.position].count("\n") + 1
        char = chr(exc.character) if isinstance(exc.character, int) else exc.character
        raise ConfigError(f"{path}:{line}: invalid YAML: control character {char!r} is not allowed") from None
    except yaml.MarkedYAMLError as exc:
        raise _marked_error(path, text, exc) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {str(exc).splitlines()[0]}") from None
    lines: dict[tuple, int] = {}
    try:
        data = {} if node is None else _plain(node, (), lines, path)
    except yaml.MarkedYAMLError as exc:  # e.g. a !!python/... tag the safe loader refuses
        raise _marked_error(path, text, exc) from None
    return YamlDoc(path, data, lines)


# PyYAML notices an unclosed bracket or quote only where the next key begins, a line or more later.
_UNCLOSED = {"while parsing a flow sequence": "'['", "while parsing a flow mapping": "'{'",
             "while scanning a quoted scalar": "quote"}


def _marked_error(path: Path, text: str, exc: yaml.MarkedYAMLError) -> ConfigError:
    """One line naming the line where the mistake is, which is not always where PyYAML noticed it."""
    problem = exc.problem or exc.context or "not valid YAML"
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return ConfigError(f"{path}: invalid YAML: {problem}")
    opened = exc.context_mark
    if exc.context in _UNCLOSED and opened is not None and opened.line < mark.line:
        return ConfigError(f"{path}:{opened.line + 1}: invalid YAML: the {_UNCLOSED[exc.context]} opened on this line "
                           f"is not closed ({problem} on line {mark.line + 1})")
    start = _runaway_value_start(text, mark)
    if start is not None:
        return ConfigError(f"{path}:{start + 1}: invalid YAML: the value that starts on this line runs on to line "
                           f"{mark.line + 1}, where {problem}; check its quotes and the next line's indentation")
    return ConfigError(f"{path}:{mark.line + 1}: invalid YAML: {problem}")


def _runaway_value_start(text: str, mark: yaml.Mark) -> int | None:
    """The 0-based first line of a value spanning several lines that ends on the line where parsing failed:
    a missing closing quote, or a key's value with an indented block under it, swallows the lines after it."""
    last = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= mark.index:
                break
            if isinstance(token, yaml.ScalarToken):
                last = token
    except yaml.YAMLError:
        pass  # the same mistake again: the tokens before it are what we wanted
    if last is None or not last.start_mark.line < last.end_mark.line == mark.line:
        return None
    return last.start_mark.line
