"""`assistant mics`: list audio inputs."""

from __future__ import annotations

from ..adapters.microphone import list_inputs


def register(sub, common) -> None:
    p = sub.add_parser("mics", parents=[common], help="list audio inputs (use with --input N|NAME)")
    p.set_defaults(func=run)


def run(args) -> int:
    inputs = list_inputs()
    if not inputs:
        print("no audio inputs found")
        return 1
    for d in inputs:
        mark = "*" if d.is_default else " "
        print(f"{mark}{d.index:3d}  {d.name}  ({d.channels} ch, {d.default_rate} Hz)")
    return 0
