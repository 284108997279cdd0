"""The hub's Wyoming face (the only importer of `wyoming`): Home Assistant adds it as a local service.

Events in and out, per connection:
    describe                                   -> info (asr, intent and handle programs)
    [transcribe] audio-start audio-chunk* audio-stop -> transcript (the hub's recognizer)
    recognize (text)                           -> intent (name + entities) | not-recognized (reason)
    transcript (text, what HA sends a handle program) -> handled | not-handled (per-device outcome words)
A satellite (assistant satellite) says who it is first, and its commands are turns:
    info (satellite: name, area)               -> run-satellite
    detection (wake word; context: score, snr_db) -> nothing, or not-detected (context: stand_down) when
                                                  another satellite heard the same utterance better
    audio-start audio-chunk* [voice-stopped audio-chunk*]* audio-stop -> handled | not-handled (context:
      follow_up_ms, ignored); after a detection: its command; without one: a follow-up in the window the last
      answer opened. voice-stopped (timestamp: where speech stopped, ms into the stream) says the speaker has
      paused: the hub decodes what came so far while the satellite waits out its hangover.

Wyoming has no authentication. A connection from an address outside `allowed` is closed at once with one
log line. A header that is not a Wyoming event, or a payload shorter than it promised, closes that
connection with one log line; an event that cannot be served (audio the hub cannot convert, a field of
the wrong kind) is refused with an `error` event and one log line. The other connections never notice.
The port object's methods block (recognition, device echoes), so they run one at a time on a worker
thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Protocol
from urllib.parse import urlparse

from ..errors import AssistantError, AudioError, ConfigError
from ..messages import Intent, NotUnderstood, Transcript

log = logging.getLogger(__name__)
MAX_AUDIO_S = 60  # one spoken command per stream; the transcribe command draws the same line


class HubPort(Protocol):
    """What the server needs from the hub (assistant.hub.Hub provides it)."""

    recognizer_name: str
    language_code: str

    def audio_problem(self, rate: int, width: int, channels: int) -> str | None: ...
    def transcribe(self, pcm: bytes, rate: int, width: int, channels: int) -> Transcript: ...
    def recognize(self, text: str) -> tuple[Intent, ...] | NotUnderstood: ...
    def handle(self, text: str) -> Any: ...  # .handled: bool, .text: str
    # satellites (assistant.hub.Hub): verdicts have .satellite, .go, .winner, .why
    def join(self, name: str, area: str | None) -> None: ...
    def woke(self, name: str, now_ms: int, score: float, snr_db: float | None) -> list: ...
    def command_ready(self, name: str, now_ms: int) -> list: ...
    def tick(self, now_ms: int) -> list: ...
    def left(self, name: str) -> None: ...
    def satellite_turn(self, name: str, pcm: bytes, rate: int, width: int, channels: int,
                       speech_end_ms: int | None = None, follow_up: bool = False) -> Any: ...
    def satellite_pause(self, name: str, pcm: bytes, rate: int, width: int, channels: int, speech_end_ms: int,
                        follow_up: bool = False) -> None: ...


def _wyoming():
    try:
        import wyoming  # noqa: F401
    except ImportError:
        raise ConfigError("the Wyoming server needs the 'wyoming' package; run scripts/setup.sh") from None
    from wyoming import asr, audio, error, event, handle, info, intent, server
    return asr, audio, error, event, handle, info, intent, server


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


def parse_uri(uri: str) -> tuple[str, int]:
    """tcp://HOST:PORT -> (host, port); anything else is a ConfigError naming the option."""
    bad = f"--wyoming {uri!r}: expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:10700"
    try:
        parsed = urlparse(uri)
        port = parsed.port
    except ValueError:
        raise ConfigError(bad) from None
    if parsed.scheme != "tcp" or not parsed.hostname or port is None:
        raise ConfigError(bad)
    return parsed.hostname, port


class _Watched:
    """The connection's reader as wyoming's event reader uses it, remembering whether the last header
    read ended the stream: that reader answers None both for a closed connection and for a line that is
    not JSON, and only the second deserves a log line."""

    def __init__(self, reader: asyncio.StreamReader):
        self._reader = reader
        self.closed = False

    async def readline(self) -> bytes:
        self.closed = False
        line = await self._reader.readline()
        self.closed = not line
        return line

    async def readexactly(self, n: int) -> bytes:
        return await self._reader.readexactly(n)


class WyomingServer:
    """Serves a HubPort over TCP until stopped. allowed: the peer addresses served (None: everyone who can
    reach the bound address, which the command allows only for loopback)."""

    def __init__(self, hub: HubPort, uri: str, allowed: frozenset[str] | None = None, version: str = "0"):
        self.hub = hub
        self.host, self.port = parse_uri(uri)
        self.allowed = allowed
        self.version = version
        self._lib = _wyoming()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wyoming-hub")
        self._server = self._lib[7].AsyncTcpServer(self.host, self.port)
        self.satellites: dict[str, _Connection] = {}  # connected satellites by name
        self.connections: set[_Connection] = set()
        self.stopping = False
        self._timer: asyncio.TimerHandle | None = None

    def info(self):
        _, _, _, _, _, info, _, _ = self._lib
        who = info.Attribution(name="assistant", url="")
        languages = [self.hub.language_code]
        asr = info.AsrProgram(
            name="assistant-asr", attribution=who, installed=True, version=self.version,
            description="speech to text, limited to this home's commands where the engine has a grammar",
            models=[info.AsrModel(name=self.hub.recognizer_name, attribution=who, installed=True,
                                  description=f"the {self.hub.recognizer_name} recognizer", version=self.version,
                                  languages=languages)])
        intent = info.IntentProgram(
            name="assistant-intent", attribution=who, installed=True, version=self.version,
            description="this home's sentences and Home Assistant's, matched to intents",
            models=[info.IntentModel(name="sentences", attribution=who, installed=True, description=None,
                                     version=self.version, languages=languages)])
        handle = info.HandleProgram(
            name="assistant-handle", attribution=who, installed=True, version=self.version,
            description="matches a sentence and switches the devices over MQTT, answering with what they did",
            models=[info.HandleModel(name="devices", attribution=who, installed=True, description=None,
                                     version=self.version, languages=languages)])
        return info.Info(asr=[asr], intent=[intent], handle=[handle])

    async def start(self) -> None:
        self.stopping = False
        try:
            await self._server.start(partial(_Connection, self))
        except OSError as exc:
            raise ConfigError(f"--wyoming tcp://{self.host}:{self.port}: cannot listen there "
                              f"({exc.strerror or exc})") from None
        log.info("Wyoming server on tcp://%s:%d", self.host, self.port)

    async def serve_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        self.stopping = True  # a connection that comes in while the others are closed is closed at once
        await self._server.stop()
        for conn in list(self.connections):  # any that came in while the library was closing the others
            await conn.stop()
        self._worker.shutdown(wait=False, cancel_futures=True)

    async def call(self, fn, *args):
        """A blocking hub method on the worker thread, so the other connections keep being read."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    # ------------------------------------------------------------------ satellites: joining, wake contests

    def join(self, conn: "_Connection", name: str, area: str | None) -> None:
        old = self.satellites.get(name)
        if old is not None and old is not conn:
            log.warning("satellite %s connected again from %s; the older connection is closed", name, conn.peer)
            old.satellite = None
            old.writer.close()
        self.satellites[name] = conn
        self.hub.join(name, area)

    def leave(self, conn: "_Connection") -> None:
        if conn.satellite and self.satellites.get(conn.satellite) is conn:
            del self.satellites[conn.satellite]
            self.hub.left(conn.satellite)
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
        due = self.hub.arbiter.due_ms() if hasattr(self.hub, "arbiter") else None
        if due is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(max(0, due - _now_ms()) / 1000,
                                          lambda: loop.create_task(self.judge(self.hub.tick(_now_ms()))))


class _Connection:
    """One client: the wyoming handler's contract (run/stop/handle_event), with the reading guarded."""

    def __init__(self, server: WyomingServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.server = server
        self.reader = _Watched(reader)
        self._raw_reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else "?"
        self._audio: bytearray | None = None
        self._format: tuple[int, int, int] | None = None
        self._refused = False  # this stream's audio was refused: drop its chunks quietly until audio-stop
        self.satellite: str | None = None  # the name it gave in its info, when it is a satellite
        self.wake: str | None = None  # its last wake: "open" (contest undecided), "go", "lost"; None: none
        self._speech_end_ms: int | None = None  # audio-stop's timestamp: where speech ended in the stream

    async def run(self) -> None:
        lib_event = self.server._lib[3]
        self.server.connections.add(self)
        try:
            if self.server.stopping:
                return
            allowed = self.server.allowed
            if allowed is not None and self.peer not in allowed:
                log.warning("refused a Wyoming connection from %s: not in --allow", self.peer)
                return
            while True:
                try:
                    event = await lib_event.async_read_event(self.reader)
                except (EOFError, KeyError, TypeError, AttributeError) as exc:
                    log.warning("Wyoming client %s sent a malformed event (%s); connection closed",
                                self.peer, _why(exc))
                    return
                if event is None:
                    if not self.reader.closed:
                        log.warning("Wyoming client %s sent a header that is not a JSON event; connection "
                                    "closed", self.peer)
                    return
                if not await self.handle_event(event):
                    return
        except ConnectionError as exc:
            log.info("Wyoming client %s went away (%s)", self.peer, exc)
        finally:
            self.server.connections.discard(self)
            self.server.leave(self)
            self.writer.close()

    async def stop(self) -> None:
        self.writer.close()
        self._raw_reader.feed_eof()

    async def write(self, eventable) -> None:
        await self.server._lib[3].async_write_event(eventable.event(), self.writer)

    async def refuse(self, text: str) -> None:
        log.warning("Wyoming client %s: %s", self.peer, text)
        await self.write(self.server._lib[2].Error(text=text, code="refused"))

    async def handle_event(self, event) -> bool:
        try:
            return await self._dispatch(event)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            await self.refuse(f"malformed {event.type!r} event refused ({_why(exc)})")
            return True

    async def _dispatch(self, event) -> bool:
        asr, audio, _, _, handle, info, intent, _ = self.server._lib
        wake, satellite = _satellite_lib()
        if info.Describe.is_type(event.type):
            await self.write(self.server.info())
        elif info.Info.is_type(event.type):  # a satellite saying who it is
            sat = info.Info.from_event(event).satellite
            if sat is None or not str(sat.name or "").strip():
                await self.refuse("info without a satellite name refused; a satellite sends its name and area")
                return True
            self.satellite = str(sat.name).strip()
            self.server.join(self, self.satellite, str(sat.area).strip() if sat.area else None)
            await self.write(satellite.RunSatellite())
        elif wake.Detection.is_type(event.type):
            if self.satellite is None:
                await self.refuse("a detection from a client that has not said which satellite it is (send info "
                                  "with a satellite first)")
                return True
            context = wake.Detection.from_event(event).context or {}
            score, snr = float(context.get("score", 0.0)), context.get("snr_db")
            self.wake = "open"
            await self.server.judge(self.server.hub.woke(self.satellite, _now_ms(), score,
                                                         None if snr is None else float(snr)))
        elif asr.Transcribe.is_type(event.type):
            wanted = asr.Transcribe.from_event(event).language
            if wanted and wanted.split("-")[0].lower() != self.server.hub.language_code:
                await self.refuse(f"transcribe asked for language {wanted!r}; this recognizer speaks "
                                  f"{self.server.hub.language_code!r}")
        elif audio.AudioStart.is_type(event.type):
            start = audio.AudioStart.from_event(event)
            self._begin(int(start.rate), int(start.width), int(start.channels))
            if self._refused:
                await self.refuse(self._refused)
        elif audio.AudioChunk.is_type(event.type):
            await self._chunk(audio.AudioChunk.from_event(event))
        elif event.type == "voice-stopped" and self.satellite:
            await self._paused(int((event.data or {})["timestamp"]))
        elif audio.AudioStop.is_type(event.type):
            stop = audio.AudioStop.from_event(event)
            self._speech_end_ms = None if stop.timestamp is None else int(stop.timestamp)
            await (self._finish_command() if self.satellite else self._finish())
        elif intent.Recognize.is_type(event.type):
            text = str(intent.Recognize.from_event(event).text)
            result = await self.server.call(self.server.hub.recognize, text)
            await self.write(_intent_event(intent, result))
        elif asr.Transcript.is_type(event.type):  # what Home Assistant sends a handle program
            text = str(asr.Transcript.from_event(event).text)
            done = await self.server.call(self.server.hub.handle, text)
            await self.write(handle.Handled(text=done.text) if done.handled else handle.NotHandled(text=done.text))
        else:
            log.debug("Wyoming client %s: ignored event %r", self.peer, event.type)
        return True

    def _begin(self, rate: int, width: int, channels: int) -> None:
        self._format = (rate, width, channels)
        self._audio = bytearray()
        problem = self.server.hub.audio_problem(rate, width, channels)
        self._refused = f"audio at {rate} Hz, {width * 8}-bit, {channels} channel(s) refused: {problem}" \
            if problem else False

    async def _chunk(self, chunk) -> None:
        shape = (int(chunk.rate), int(chunk.width), int(chunk.channels))
        if self._format is None:  # no audio-start: the first chunk says what the stream is
            self._begin(*shape)
            if self._refused:
                await self.refuse(self._refused)
        if self._refused:
            return
        rate, width, channels = self._format
        if shape != self._format:
            self._refused = "refused"
            await self.refuse(f"audio-chunk at {shape[0]} Hz, {shape[1] * 8}-bit, {shape[2]} channel(s) in a "
                              f"stream that started at {rate} Hz, {width * 8}-bit, {channels} channel(s)")
            return
        payload = chunk.audio or b""
        if len(payload) % (width * channels):
            self._refused = "refused"
            await self.refuse(f"audio-chunk of {len(payload)} bytes is not whole {width * 8}-bit samples of "
                              f"{channels} channel(s); stream refused")
            return
        self._audio += payload
        if len(self._audio) > MAX_AUDIO_S * rate * width * channels:
            self._refused = "refused"
            await self.refuse(f"audio stream longer than {MAX_AUDIO_S} s (one command at a time); stream refused")

    async def _finish(self) -> None:
        asr = self.server._lib[0]
        pcm, shape, refused = bytes(self._audio or b""), self._format, self._refused
        self._audio, self._format, self._refused = None, None, False
        if refused or shape is None:
            return  # refused streams were answered with an error; a stop without audio asks nothing
        try:
            t = await self.server.call(self.server.hub.transcribe, pcm, *shape)
        except AudioError as exc:
            await self.refuse(str(exc))
            return
        except AssistantError as exc:
            await self.refuse(f"transcription failed: {exc}")
            return
        log.info("Wyoming client %s: heard %r (%s)", self.peer, t.text, t.engine)
        await self.write(asr.Transcript(text="" if t.rejected else t.text, language=self.server.hub.language_code))


    async def _paused(self, speech_end_ms: int) -> None:
        """Start decoding the command so far on the worker, without waiting: the rest of the stream keeps
        being read, and the turn (queued behind it on the same worker) uses the decode if it still fits."""
        if self._refused or self._format is None or not self._audio or self.wake == "lost":
            return
        future = asyncio.ensure_future(self.server.call(self.server.hub.satellite_pause, self.satellite,
                                                        bytes(self._audio), *self._format, speech_end_ms,
                                                        self.wake is None))
        future.add_done_callback(_log_failure)

    async def _finish_command(self) -> None:
        """A satellite's command: judged against the other satellites' wakes, then run as its turn."""
        _, _, _, _, handle, _, _, _ = self.server._lib
        pcm, shape, refused = bytes(self._audio or b""), self._format, self._refused
        self._audio, self._format, self._refused = None, None, False
        if self.wake == "open":  # the first whole command of a contest decides it
            await self.server.judge(self.server.hub.command_ready(self.satellite, _now_ms()))
        woke, self.wake = self.wake, None
        if refused or shape is None:
            return
        if woke == "lost":
            log.info("satellite %s: command dropped, another satellite has this turn", self.satellite)
            return
        try:
            done = await self.server.call(self.server.hub.satellite_turn, self.satellite, pcm, *shape,
                                          self._speech_end_ms, woke is None)
        except AudioError as exc:
            await self.refuse(str(exc))
            return
        except AssistantError as exc:
            await self.write(handle.NotHandled(text=f"failed: {exc}"))
            return
        context = {"follow_up_ms": done.follow_up_ms, "ignored": done.ignored}
        await self.write(handle.Handled(text=done.text, context=context) if done.handled
                         else handle.NotHandled(text=done.text, context=context))


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("early decode failed: %s", future.exception())


def _satellite_lib():
    from wyoming import satellite, wake
    return wake, satellite


def _stand_down(verdict):
    from wyoming.wake import NotDetected
    return NotDetected(context={"stand_down": True, "winner": verdict.winner, "why": verdict.why})


def _intent_event(intent, result):
    if isinstance(result, NotUnderstood):
        return intent.NotRecognized(text=f"not understood ({result.reason})")
    first = result[0]
    entities = [intent.Entity(name=k, value=v) for k, v in first.slots.items()]
    # More than one intent in one sentence ("... and close the blinds"): Wyoming carries one; the others
    # ride along in the context, where a client that knows them can find them.
    context = {"intents": [{"name": i.name, "slots": dict(i.slots)} for i in result]} if len(result) > 1 else None
    return intent.Intent(name=first.name, entities=entities, context=context)


def _why(exc: Exception) -> str:
    if isinstance(exc, asyncio.IncompleteReadError):
        return f"payload ended after {len(exc.partial)} of {exc.expected} bytes"
    return f"{type(exc).__name__}: {exc}"
