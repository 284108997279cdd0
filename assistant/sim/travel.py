"""How a simulated FYRTUR blind travels: its position as a function of time, and when it reports it.

Pure: the bridge hands in the time, so tests move the clock instead of waiting. The figures:

- Speed. The FYRTUR motor's full speed is 25 rpm and its factory travel is 13 turns + 265 degrees (both
  from the original firmware, documented in the README of mjuhanne/fyrtur-motor-board), so a full open or
  close takes 13.74 / 25 min = 33 s: about 3 % a second.
- Reports. Zigbee2MQTT configures the blind to report currentPositionLiftPercentage at most once a second,
  on a change of 1 % (zigbee-herdsman-converters, reporting.currentPositionLiftPercentage: min 1 s, change 1).
- Fields. Zigbee2MQTT's converter for this blind (fromZigbee cover_position_tilt) publishes `position` and
  `state`, CLOSE at 0 and OPEN otherwise; there is no moving/opening/closing for it (the blind does not say,
  Koenkk/zigbee2mqtt#3927), so the simulated blind reports those two and nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

FULL_TRAVEL_S = (13 + 265 / 360) / 25 * 60  # 13.74 turns at 25 rpm = 33.0 s
FYRTUR_PERCENT_PER_S = 100 / FULL_TRAVEL_S  # 3.03
REPORT_INTERVAL_S = 1.0
_ENDS = {"OPEN": 100, "CLOSE": 0}


@dataclass(frozen=True)
class Travel:
    """A blind on its way from `start` to `target` (positions in %), since `started_s` on the bridge's clock."""

    start: int
    target: int
    started_s: float
    percent_per_s: float = FYRTUR_PERCENT_PER_S

    def position_at(self, now_s: float) -> int:
        """Whole percent reached by now (a blind reports whole percent)."""
        moved = int(max(0.0, now_s - self.started_s) * self.percent_per_s)
        if moved >= abs(self.target - self.start):
            return self.target
        return self.start + moved if self.target > self.start else self.start - moved


def travel_target(command: Mapping[str, Any]) -> int | None:
    """Where a validated cover command sends the blind: its position, 100 for OPEN, 0 for CLOSE, or None
    for STOP (stay where it is)."""
    if "position" in command:
        return int(command["position"])
    return _ENDS.get(command.get("state", "STOP"))


def report_due(position: int, last_position: int | None, since_last_s: float) -> bool:
    """Whether a blind at `position` reports now: it moved since its last report, a report interval ago."""
    return position != last_position and since_last_s >= REPORT_INTERVAL_S
