"""Helpers for the satellite tests: a hub served on a free loopback port from a thread of its own, and
satellites (the real wake word model, VAD and listener) replaying WAVs in real time, each on a thread."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from assistant.adapters.mosquitto import free_port
from assistant.adapters.wyoming import WyomingServer
from assistant.commands.satellite import build_satellite, paced, wav_frames
from assistant.config import load_settings


class ServedHub:
    """A WyomingServer on its own event loop thread; stop() and start() again on the same port (a restart)."""

    def __init__(self, hub, port: int | None = None):
        self.hub = hub
        self.port = port or free_port()
        self.server = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def start(self) -> "ServedHub":
        self.server = WyomingServer(self.hub, f"tcp://127.0.0.1:{self.port}", None, "test")
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self

    def stop(self) -> None:
        if self.server is not None:
            async def close_all():
                for conn in list(self.server.rooms.satellites.values()):
                    conn.writer.close()
                await self.server.stop()
            asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(10)
            self.server = None

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class Satellite:
    name: str
    area: str | None
    reports: list = field(default_factory=list)
    wakes: list = field(default_factory=list)
    said: list = field(default_factory=list)
    loop: object = None
    link: object = None


def start_satellite(port: int, name: str, area: str | None, settings=None, retry_s: float = 0.2) -> Satellite:
    sat = Satellite(name, area)
    sat.loop, sat.link = build_satellite(settings or load_settings(), ("127.0.0.1", port), name, area,
                                         sat.said.append, sat.reports.append, sat.wakes.append, retry_s=retry_s)
    return sat


def replay(sat: Satellite, wavs: list, start: float | None = None, drain_s: float = 15.0) -> threading.Thread:
    """Replay on a thread (real time, from `start` on the monotonic clock), the satellite's audio clock
    running on from where it stopped; join() it."""
    import time

    begin_ms = sat.loop.now_ms + 80 if sat.loop.now_ms else 0
    start = (time.monotonic() if start is None else start) - begin_ms / 1000

    def run():
        sat.loop.run(paced(wav_frames([str(w) for w in wavs], lambda: sat.loop.busy, drain_s, begin_ms), start))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def noisy_copy(src, dst, snr_db: float, delay_s: float, seed: int, lead_s: float = 0.0) -> None:
    """The clip with `delay_s` more of its own quiet lead-in and pink noise `snr_db` under its speech: what
    a farther (or nearer) microphone in another room hears of the same words. lead_s: that much more of the
    room before it (for replays back to back, so the background before the wake word is this clip's)."""
    import wave

    import numpy as np

    from assistant.levels import active_rms, pink

    with wave.open(str(src)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64)
    quiet = x[:8000]  # the clips' first half second is their floor alone
    x = np.concatenate([np.resize(quiet, int((lead_s + delay_s) * 16000)), x])
    speech = active_rms(x / 32768.0)
    noise = pink(len(x), np.random.default_rng(seed)) * speech * 10 ** (-snr_db / 20) * 32768.0
    y = np.clip(np.round(x + noise), -32768, 32767).astype("<i2")
    with wave.open(str(dst), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(y.tobytes())


class CountingDispatcher:
    """The real dispatcher, counting the turns it carries out (an action is a dispatch with messages)."""

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher
        self.registry = dispatcher.registry
        self.actions = []

    def dispatch(self, intents):
        done = self.dispatcher.dispatch(intents)
        if done.messages:
            self.actions.append(intents)
        return done
