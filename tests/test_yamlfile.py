"""Config and sentence files with a YAML mistake: the error names the 1-based line the mistake is on."""

from __future__ import annotations

import shutil

import pytest

from assistant.cli import main
from assistant.config import DEFAULT_CONFIG_DIR


def _broken_copy(tmp_path, name: str, line: int, text: str):
    """A copy of config/ whose file `name` has its 1-based line `line` replaced by `text`."""
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    path = config / name
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[line - 1] = text
    path.write_text("\n".join(lines), encoding="utf-8")
    return config, path


@pytest.mark.parametrize("name, line, text, says", [
    # unclosed brackets and quotes: PyYAML notices them only on a later line
    ("assistant.yaml", 6, "  threshold: [0.5", "the '[' opened on this line is not closed"),
    ("assistant.yaml", 6, '  threshold: "0.5', "the value that starts on this line runs on to line"),
    ("assistant.yaml", 4, "wake: 5", "the value that starts on this line runs on to line 5"),
    ("devices.yaml", 14, "    say: [desk lamp, desk light", "the '[' opened on this line is not closed"),
    ("sentences/en.yaml", 23, "  percent: {range: {from: 0, to: 100}", "the '{' opened on this line is not closed"),
    ("sentences/en.yaml", 65, '  turn: "(turn|switch)', "the value that starts on this line runs on to line 66"),
    ("sentences/en.yaml", 65, "  turn: '(turn|switch)", "the quote opened on this line is not closed"),
    # noticed where they are: unchanged
    ("assistant.yaml", 6, "  threshold: 0.5: x", "mapping values are not allowed here"),
    ("devices.yaml", 12, "    model: *nope", "found undefined alias 'nope'"),
    # refused by the safe loader: one line with its line number, not PyYAML's three-line excerpt
    ("assistant.yaml", 6, "  threshold: !!python/object:os.system 0.5", "could not determine a constructor"),
])
def test_a_yaml_mistake_names_its_own_line(tmp_path, capsys, name, line, text, says):
    config, path = _broken_copy(tmp_path, name, line, text)
    assert main(["intent", "--config", str(config), "turn on the kitchen light"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:{line}: invalid YAML: {says}"), err
    assert len(err.splitlines()) == 1
