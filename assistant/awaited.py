"""Commands in flight and what answers them. Pure: no I/O, times are passed in (milliseconds, any origin).

A command is answered by a live state report that shows the change (devices/reported.py says which do),
by its device or the bridge going offline, or by a bridge error that names it. Zigbee2MQTT's errors carry
no transaction id and come only once the radio gives up, so a command that got no answer in its own turn
stays owed one for LATE_ERROR_MS: an error that fits it settles it, not a command of the turn in flight.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping

from .devices.reported import confirms, still_travelling
from .messages import DeviceOutcome, Outcome
from .mqtt_codec import BridgeError

log = logging.getLogger(__name__)

# How long a command that got no answer may still be answered by a bridge error. Zigbee2MQTT logs a failed
# publish only once the radio gives up: zigbee-herdsman waits 6 s for the adapter and 10 s for the device
# ("failed (SRSP - AF - dataRequest after 6000ms)", "timeout":10000 in Koenkk/zigbee2mqtt#10387), longer
# than the echo wait, so such an error often arrives during a later turn.
LATE_ERROR_MS = 30_000.0
BRIDGE_OFFLINE = "bridge offline"  # a stopped bridge reports nothing about what it was sending

States = Mapping[str, Mapping[str, Any]]


class _Pending:
    """A device whose answer is awaited: what was asked of it, and its state when it was asked.
    `command` numbers the /set message it waits on (the members of a group share one)."""
    __slots__ = ("device", "target", "command", "sent_at_ms", "changes", "before", "seen", "outcome")

    def __init__(self, device: str, target: str, command: int, sent_at_ms: float, changes: Mapping[str, Any],
                 before: Mapping[str, Any]):
        self.device, self.target, self.command, self.sent_at_ms = device, target, command, sent_at_ms
        self.changes, self.before = changes, before
        self.seen: dict[str, Any] | None = None  # the last live report that did not show the change
        self.outcome: DeviceOutcome | None = None

    def settle(self, outcome: Outcome, state: Mapping[str, Any], detail: str, now_ms: float | None) -> None:
        ms = None if now_ms is None else round(now_ms - self.sent_at_ms, 2)
        self.outcome = DeviceOutcome(self.device, outcome, dict(state), detail, ms)


class Awaited:
    """The turn's commands that await an answer, and commands of earlier turns still owed one."""

    def __init__(self) -> None:
        self._pending: list[_Pending] = []
        self._owed: list[_Pending] = []
        self._commands = 0  # /set messages so far, to number them

    @property
    def waiting(self) -> bool:
        return any(p.outcome is None for p in self._pending)

    def begin(self) -> None:
        self._pending = []

    def expect(self, answers: list[tuple[str, str]], changes: Mapping[str, Any], sent_at_ms: float,
               known: States) -> None:
        """One /set is going out; `answers` are the (device, target) pairs whose state echo answers it."""
        for device, target in answers:
            self._pending.append(_Pending(device, target, self._commands, sent_at_ms, changes,
                                          dict(known.get(device, {}))))
        self._commands += 1

    def withdraw_last(self) -> None:
        """The last command expected was not sent after all."""
        self._pending = [p for p in self._pending if p.command != self._commands - 1]

    def report(self, device: str, state: Mapping[str, Any], now_ms: float) -> None:
        """A live state report: the oldest open command to `device` that it confirms is done (saying where a
        blind that answered by moving is still going); the device's other open commands remember it."""
        for p in self._pending:
            if p.outcome is None and p.device == device and confirms(p.changes, p.before, state):
                p.settle(Outcome.DONE, state, still_travelling(p.changes, state), now_ms)
                break
        for p in self._pending:
            if p.outcome is None and p.device == device:
                p.seen = dict(state)
        # A late report that shows an earlier turn's change answers it: no error is owed to it any more.
        self._owed = [p for p in self._owed if p.device != device or not confirms(p.changes, p.before, state)]

    def unreachable(self, offline: Callable[[str], bool], detail: str, known: States, now_ms: float | None) -> None:
        """Devices that went offline (or the bridge, for all of them): their open commands cannot be answered.
        now_ms=None: known before anything was awaited (no answer time)."""
        for p in self._pending:
            if p.outcome is None and offline(p.device):
                p.settle(Outcome.UNREACHABLE, known.get(p.device, {}), detail, now_ms)

    def refuse(self, error: BridgeError, known: States, now_ms: float) -> None:
        """A bridge error answers one command: the oldest unanswered one it fits. That may be a command of an
        earlier turn (it then settles nothing now); never the device for good."""
        self._owed = [p for p in self._owed if now_ms - p.sent_at_ms < LATE_ERROR_MS]
        for earlier in self._owed:
            if error.about(earlier.target, earlier.changes):
                self._owed = [p for p in self._owed if p.command != earlier.command]
                log.info("the bridge refused an earlier command to %s: %s", earlier.target, error.text)
                return
        answered = next((p.command for p in self._pending if p.outcome is None and error.about(p.target, p.changes)),
                        None)
        for p in self._pending:
            if p.outcome is None and p.command == answered:
                p.settle(Outcome.REFUSED, known.get(p.device, {}), error.text, now_ms)

    def forget_owed(self) -> None:
        """A bridge that stopped will not report on what it was sending."""
        self._owed = []

    def finish(self, now_ms: float, unanswered: Callable[[str, dict[str, Any] | None], DeviceOutcome]
               ) -> tuple[DeviceOutcome, ...]:
        """The turn's outcomes in command order; `unanswered(device, seen)` words a device that did not
        answer (seen: its last report, which did not show the change). Commands without an answer (or
        only a device's 'offline') stay owed one."""
        outcomes = tuple(p.outcome or unanswered(p.device, p.seen) for p in self._pending)
        self._owed = [p for p in self._owed if now_ms - p.sent_at_ms < LATE_ERROR_MS] + [
            p for p in self._pending if p.outcome is None or (p.outcome.outcome is Outcome.UNREACHABLE
                                                              and p.outcome.detail != BRIDGE_OFFLINE)]
        self._pending = []
        return outcomes
