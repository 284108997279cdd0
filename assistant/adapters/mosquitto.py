"""Start and stop a private Mosquitto on 127.0.0.1: the demo's own broker, the tests' and the benchmarks'.

The broker gets a generated config in a folder of its own, listens on a free port of 127.0.0.1 only,
keeps nothing on disk (persistence off), and is stopped by its own PID. PrivateMosquitto also owns that
folder: stop() removes it, so a run leaves no files behind.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ..errors import BrokerError

log = logging.getLogger(__name__)
CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
START_TIMEOUT_S = 5.0
_PR_SET_PDEATHSIG = 1


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


def _die_with_parent() -> None:
    # Runs in the child before exec (Linux): a parent killed without cleanup takes its broker with it,
    # so no orphan keeps listening. Elsewhere stop() is the only way it ends. The kernel sends the signal
    # when the *thread* that started the child ends, so only a start from the main thread asks for it.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def start(binary: str, conf_lines: list[str], workdir: Path, port: int | None = None,
          listener: bool = True) -> tuple[subprocess.Popen, int]:
    """Start Mosquitto and wait until it accepts connections; listener=False when conf_lines bring their
    own 'listener PORT 127.0.0.1'. BrokerError (with the end of its log) if it exits or stays deaf."""
    main_thread = threading.current_thread() is threading.main_thread()
    port = port or free_port()
    conf = workdir / "mosquitto.conf"
    head = [f"listener {port} 127.0.0.1"] if listener else []
    conf.write_text("\n".join([*head, "persistence false", "user root",
                               f"log_dest file {workdir / 'mosquitto.log'}", *conf_lines]) + "\n")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent if main_thread else None)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrokerError(f"mosquitto exited: {proc.stderr.read().decode(errors='replace')[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.02)
    stop(proc)
    raise BrokerError(f"mosquitto did not start listening within {START_TIMEOUT_S:g} s")


def stop(proc: subprocess.Popen) -> None:
    proc.kill()  # this PID only: the broker start() launched
    proc.wait(timeout=5)
    if proc.stderr is not None:
        proc.stderr.close()


class PrivateMosquitto:
    """A Mosquitto of our own in a temporary folder; start() -> (host, port), stop() kills it (by PID)
    and removes the folder with its config and log."""

    kind = "mosquitto"

    def __init__(self, binary: str, conf_lines: tuple[str, ...] = ("allow_anonymous true",),
                 port: int | None = None):
        self.binary, self.conf_lines = binary, list(conf_lines)
        self.host, self.port = "127.0.0.1", port
        self.folder: Path | None = None
        self._proc: subprocess.Popen | None = None

    def start(self) -> tuple[str, int]:
        self.folder = Path(tempfile.mkdtemp(prefix="assistant-mosquitto-"))
        try:
            self._proc, self.port = start(self.binary, self.conf_lines, self.folder, self.port)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
            raise
        log.info("private mosquitto (PID %d) on %s:%d, files in %s", self._proc.pid, self.host, self.port,
                 self.folder)
        return self.host, self.port

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def stop(self) -> None:
        if self._proc is not None:
            stop(self._proc)
            self._proc = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> "PrivateMosquitto":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
