"""`assistant models list|fetch|verify`: the model manifest and its verified fetch."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import settings_from
from ..models import fetch_models, installed_path, is_present, load_manifest, mirror_from_env, sha256_of, MIRROR_ENV


def register(sub, common) -> None:
    p = sub.add_parser("models", parents=[common], help="list, fetch and verify model files")
    msub = p.add_subparsers(dest="action", metavar="ACTION")
    msub.add_parser("list", help="show each model, its licence and whether it is present")
    f = msub.add_parser("fetch", help="fetch and verify models (default: all but optional ones)")
    f.add_argument("names", nargs="*", metavar="NAME")
    f.add_argument("--mirror", metavar="DIR", help=f"local folder holding model files (or ${MIRROR_ENV})")
    f.add_argument("--no-url", action="store_true", help="skip the official download URLs")
    msub.add_parser("verify", help="recompute every present model's sha256")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    manifest = load_manifest()
    action = args.action or "list"
    if action == "fetch":
        mirror = Path(args.mirror) if args.mirror else mirror_from_env()
        fetch_models(args.names, settings.models_dir, mirror, try_urls=not args.no_url)
        return 0
    bad = 0
    for entry in manifest.models.values():
        present = is_present(entry, settings.models_dir)
        status = "present" if present else ("missing (optional)" if entry.optional else "missing")
        if action == "verify" and present and not entry.unpack_to:
            ok = sha256_of(installed_path(entry, settings.models_dir)) == entry.sha256
            status = "sha256 ok" if ok else "SHA256 MISMATCH: run 'assistant models fetch' again"
            bad += not ok
        print(f"{entry.name:18} {entry.kind:10} {status:12} {entry.licence}")
    return 1 if bad else 0
