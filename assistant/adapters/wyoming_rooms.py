"""The hub's satellites over Wyoming: which connection is which satellite, their wake contests (decided by
the hub's arbiter, with a timer for the window) and their commands. adapters/wyoming.py hands a connection's
satellite events here.

A satellite (assistant satellite) says who it is first, and its commands are turns:
    info (satellite: name, area)               -> run-satellite
    detection (wake word; context: score, snr_db) -> nothing, or not-detected (context: stand_down) when
                                                  another satellite heard the same utterance better
    audio-start audio-chunk* [voice-stopped audio-chunk*]* audio-stop -> handled | not-handled (context:
      follow_up_ms, ignored); after a detection: its command; without one: a follow-up in the window the last
      answer opened. voice-stopped (timestamp: where speech stopped, ms into the stream) says the speaker has
      paused: the hub decodes what came so far while the satellite waits out its hangover.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ..errors import AssistantError, AudioError

log = logging.getLogger(__name__)
_THEIRS = frozenset({"info", "detection", "voice-stopped"})


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


class Rooms:
    def __init__(self, server: Any):
        self.server = server
        self.satellites: dict[str, Any] = {}  # connected satellites by name
        self._timer: asyncio.TimerHandle | None = None

    @staticmethod
    def is_theirs(event_type: str) -> bool:
        return event_type in _THEIRS

    async def event(self, conn, event) -> bool:
        """info, detection or voice-stopped from a connection."""
        from wyoming import info, satellite, wake

        if info.Info.is_type(event.type):  # a satellite saying who it is
            sat = info.Info.from_event(event).satellite
            if sat is None or not str(sat.name or "").strip():
                await conn.refuse("info without a satellite name refused; a satellite sends its name and area")
                return True
            conn.satellite = str(sat.name).strip()
            self.join(conn, conn.satellite, str(sat.area).strip() if sat.area else None)
            await conn.write(satellite.RunSatellite())
        elif wake.Detection.is_type(event.type):
            if conn.satellite is None:
                await conn.refuse("a detection from a client that has not said which satellite it is (send info "
                                  "with a satellite first)")
                return True
            context = wake.Detection.from_event(event).context or {}
            score, snr = float(context.get("score", 0.0)), context.get("snr_db")
            conn.wake = "open"
            await self.judge(self.server.hub.woke(conn.satellite, _now_ms(), score,
                                                  None if snr is None else float(snr)))
        elif event.type == "voice-stopped":
            if conn.satellite:
                await self.paused(conn, int((event.data or {})["timestamp"]))
        return True

    def join(self, conn: Any, name: str, area: str | None) -> None:
        old = self.satellites.get(name)
        if old is not None and old is not conn:
            log.warning("satellite %s connected again from %s; the older connection is closed", name, conn.peer)
            old.satellite = None
            old.writer.close()
        self.satellites[name] = conn
        self.server.hub.join(name, area)

    def leave(self, conn: Any) -> None:
        if conn.satellite and self.satellites.get(conn.satellite) is conn:
            del self.satellites[conn.satellite]
            self.server.hub.left(conn.satellite)
            log.info("satellite %s went away", conn.satellite)

    async def judge(self, verdicts) -> None:
        """Tell the satellites that lost a contest to stand down; arm the timer for the next decision."""
        for verdict in verdicts:
            conn = self.satellites.get(verdict.satellite)
            if conn is None:
                continue
            if verdict.go:
                if conn.wake == "open":
                    conn.wake = "go"
                continue
            conn.wake = "lost"
            try:
                await conn.write(_stand_down(verdict))
            except ConnectionError:
                pass
        self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        due = self.server.hub.arbiter.due_ms() if hasattr(self.server.hub, "arbiter") else None
        if due is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(max(0, due - _now_ms()) / 1000,
                                          lambda: loop.create_task(self.judge(self.server.hub.tick(_now_ms()))))

    async def paused(self, conn, speech_end_ms: int) -> None:
        """Start decoding the command so far on the worker, without waiting: the rest of the stream keeps
        being read, and the turn (queued behind it on the same worker) uses the decode if it still fits."""
        if conn.refused_why or conn.audio_format is None or not conn.audio_in or conn.wake == "lost":
            return
        future = asyncio.ensure_future(self.server.call(self.server.hub.satellite_pause, conn.satellite,
                                                        bytes(conn.audio_in), *conn.audio_format, speech_end_ms,
                                                        conn.wake is None))
        future.add_done_callback(_log_failure)

    async def finish_command(self, conn) -> None:
        """A satellite's command: judged against the other satellites' wakes, then run as its turn."""
        _, _, _, _, handle, _, _, _ = self.server._lib
        pcm, shape, refused = bytes(conn.audio_in or b""), conn.audio_format, conn.refused_why
        conn.audio_in, conn.audio_format, conn.refused_why = None, None, False
        if conn.wake == "open":  # the first whole command of a contest decides it
            await self.judge(self.server.hub.command_ready(conn.satellite, _now_ms()))
        woke, conn.wake = conn.wake, None
        if refused or shape is None:
            return
        if woke == "lost":
            log.info("satellite %s: command dropped, another satellite has this turn", conn.satellite)
            return
        try:
            done = await self.server.call(self.server.hub.satellite_turn, conn.satellite, pcm, *shape,
                                          conn.speech_end_ms, woke is None)
        except AudioError as exc:
            await conn.refuse(str(exc))
            return
        except AssistantError as exc:
            await conn.write(handle.NotHandled(text=f"failed: {exc}"))
            return
        context = {"follow_up_ms": done.follow_up_ms, "ignored": done.ignored}
        await conn.write(handle.Handled(text=done.text, context=context) if done.handled
                         else handle.NotHandled(text=done.text, context=context))


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("early decode failed: %s", future.exception())


def _stand_down(verdict):
    from wyoming.wake import NotDetected
    return NotDetected(context={"stand_down": True, "winner": verdict.winner, "why": verdict.why})
