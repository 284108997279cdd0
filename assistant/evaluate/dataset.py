"""An evaluation set on disk: a folder of WAVs, labels.jsonl (one object per WAV), optional conditions.json.

labels.jsonl fields: file, kind (command | non_command | wake_only | no_wake | noise), wake_word (or null),
transcript (or null), intents ([{name, slots}]), messages ([{topic, payload}]), voice, snr_db, and
optionally wake_end_s and command_start_s (detection delay; the pause before the command). conditions.json: {"snr_db": [null, 10, 0],
"noise": "pink", "seed": N}, the noise conditions `assistant evaluate` runs when none are given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

KINDS = ("command", "non_command", "wake_only", "no_wake", "noise")


@dataclass(frozen=True)
class ExpectedMessage:
    topic: str
    payload: Any  # parsed JSON


@dataclass(frozen=True)
class Clip:
    file: str
    path: Path
    kind: str
    wake_word: str | None
    transcript: str | None
    intents: tuple[dict, ...]
    messages: tuple[ExpectedMessage, ...]
    voice: str | None = None
    snr_db: float | None = None
    wake_end_s: float | None = None
    command_start_s: float | None = None

    @property
    def gap_s(self) -> float | None:
        """Pause between the end of the wake word and the start of the command, when both are labelled."""
        if self.wake_end_s is None or self.command_start_s is None or not self.wake_word:
            return None
        return round(self.command_start_s - self.wake_end_s, 3)


@dataclass(frozen=True)
class Condition:
    """One pass over the set: snr_db None = the clips as recorded; otherwise noise mixed in at that SNR."""

    snr_db: float | None = None
    noise: str = "pink"  # "pink" or a WAV path
    seed: int = 0

    @property
    def name(self) -> str:
        return "clean" if self.snr_db is None else f"{self.snr_db:g} dB"


@dataclass(frozen=True)
class Dataset:
    folder: Path
    clips: tuple[Clip, ...]
    conditions: tuple[Condition, ...] = field(default=(Condition(),))


def _need(where: str, row: dict, key: str, types: tuple, nullable: bool = False) -> Any:
    if key not in row:
        if nullable:
            return None
        raise ConfigError(f"{where}: missing field {key!r}")
    value = row[key]
    if value is None and nullable:
        return None
    if not isinstance(value, types) or isinstance(value, bool) and bool not in types:
        raise ConfigError(f"{where}: field {key!r} has the wrong type ({type(value).__name__})")
    return value


def _clip(folder: Path, where: str, row: Any) -> Clip:
    if not isinstance(row, dict):
        raise ConfigError(f"{where}: expected a JSON object per line")
    file = _need(where, row, "file", (str,))
    kind = _need(where, row, "kind", (str,))
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    intents = _need(where, row, "intents", (list,), nullable=True) or []
    for intent in intents:
        if not isinstance(intent, dict) or not isinstance(intent.get("name"), str) \
                or not isinstance(intent.get("slots", {}), dict):
            raise ConfigError(f"{where}: each intent must be {{\"name\": ..., \"slots\": {{...}}}}")
    messages = []
    for m in _need(where, row, "messages", (list,), nullable=True) or []:
        if not isinstance(m, dict) or not isinstance(m.get("topic"), str) or "payload" not in m:
            raise ConfigError(f"{where}: each message must be {{\"topic\": ..., \"payload\": ...}}")
        payload = m["payload"]
        if isinstance(payload, str):  # a payload may also be written as the JSON text itself
            try:
                payload = json.loads(payload)
            except ValueError:
                pass
        messages.append(ExpectedMessage(m["topic"], payload))
    path = folder / file
    if not path.is_file():
        raise ConfigError(f"{where}: {path} does not exist; fix the file name or remove the line")
    return Clip(file, path, kind, _need(where, row, "wake_word", (str,), nullable=True),
                _need(where, row, "transcript", (str,), nullable=True),
                tuple({"name": i["name"], "slots": dict(i.get("slots", {}))} for i in intents), tuple(messages),
                _need(where, row, "voice", (str,), nullable=True), _need(where, row, "snr_db", (int, float), True),
                _need(where, row, "wake_end_s", (int, float), nullable=True),
                _need(where, row, "command_start_s", (int, float), nullable=True))


def load_conditions(folder: Path) -> tuple[Condition, ...]:
    path = folder / "conditions.json"
    if not path.exists():
        return (Condition(),)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        snrs = data.get("snr_db", [None])
        if not isinstance(snrs, list) or not all(s is None or isinstance(s, (int, float)) for s in snrs):
            raise ValueError("snr_db must be a list of numbers or null")
        noise, seed = str(data.get("noise", "pink")), int(data.get("seed", 0))
    except (ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: {exc}; expected {{\"snr_db\": [null, 10, 0], \"noise\": \"pink\", "
                          "\"seed\": 1}") from None
    if noise != "pink" and not Path(noise).is_absolute():
        noise = str(folder / noise)
    return tuple(Condition(s, noise, seed) for s in snrs)


def load_dataset(folder: Path | str) -> Dataset:
    """Read and check labels.jsonl; every problem is one line naming the file and line."""
    folder = Path(folder)
    labels = folder / "labels.jsonl"
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a folder; give a folder holding WAVs and labels.jsonl")
    if not labels.is_file():
        raise ConfigError(f"{labels}: missing; each WAV needs a line in labels.jsonl (see eval/README.md)")
    clips = []
    for n, line in enumerate(labels.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{labels}:{n}"
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{where}: invalid JSON ({exc.msg})") from None
        clips.append(_clip(folder, where, row))
    if not clips:
        raise ConfigError(f"{labels}: no clips listed")
    seen: set[str] = set()
    for clip in clips:
        if clip.file in seen:
            raise ConfigError(f"{labels}: {clip.file} is listed twice")
        seen.add(clip.file)
    return Dataset(folder, tuple(clips), load_conditions(folder))
