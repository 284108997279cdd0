"""Start and stop a private Mosquitto on 127.0.0.1 (tests and benchmarks; the product never needs one).

The broker gets a generated config in its own folder, listens on a free port of 127.0.0.1 only, keeps
nothing on disk, and is stopped by its own PID.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from ..errors import BrokerError

CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def find_binary(names: tuple[str, ...] = CANDIDATES) -> str | None:
    """The first of `names` found on PATH or as an executable absolute path."""
    for name in names:
        found = shutil.which(name) or (name if os.path.isabs(name) and os.access(name, os.X_OK) else None)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary: str, conf_lines: list[str], workdir: Path, port: int | None = None,
          listener: bool = True) -> tuple[subprocess.Popen, int]:
    """Start Mosquitto and wait until it accepts connections; listener=False when conf_lines bring their
    own 'listener PORT 127.0.0.1'. BrokerError (with the end of its log) if it exits or stays deaf."""
    port = port or free_port()
    conf = workdir / "mosquitto.conf"
    head = [f"listener {port} 127.0.0.1"] if listener else []
    conf.write_text("\n".join([*head, "persistence false", "user root",
                               f"log_dest file {workdir / 'mosquitto.log'}", *conf_lines]) + "\n")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrokerError(f"mosquitto exited: {proc.stderr.read().decode(errors='replace')[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.02)
    stop(proc)
    raise BrokerError("mosquitto did not start listening within 5 s")


def stop(proc: subprocess.Popen) -> None:
    proc.kill()  # this PID only: the broker start() launched
    proc.wait(timeout=5)
