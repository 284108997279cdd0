"""The hub's Wyoming face: Home Assistant adds it as a local service, and satellites connect to it. With
wyoming_rooms.py (the satellites' side of it) and wyoming_link.py (a satellite's end), the only importers
of `wyoming`.

Events in and out, per connection:
    describe                                   -> info (asr, intent and handle programs)
    [transcribe] audio-start audio-chunk* audio-stop -> transcript (the hub's recognizer)
    recognize (text)                           -> intent (name + entities) | not-recognized (reason)
    transcript (text, what HA sends a handle program) -> handled | not-handled (per-device outcome words)
A satellite's events (info, detection, voice-stopped, its commands) are served by wyoming_rooms.py.

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
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Protocol
from urllib.parse import urlparse

from ..errors import AssistantError, AudioError, ConfigError
from ..messages import Intent, NotUnderstood, Transcript
from .wyoming_rooms import Rooms

log = logging.getLogger(__name__)
MAX_AUDIO_S = 60  # one spoken command per stream; the transcribe command draws the same line
ACCEPT_SETTLE_S = 0.05  # stop(): how long a just-accepted connection gets to reach its handler


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
        self.connections: set[_Connection] = set()
        self.rooms = Rooms(self)  # the satellites among them
        self.stopping = False

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
        # A connection the loop has accepted but not yet handed over must reach its handler (which closes it)
        # before the listening socket closes: asyncio leaves one caught in between open and unread, and its
        # client never learns the server went away.
        await asyncio.sleep(ACCEPT_SETTLE_S)
        await self._server.stop()
        for conn in list(self.connections):  # any that came in while the library was closing the others
            await conn.stop()
        self._worker.shutdown(wait=False, cancel_futures=True)

    async def call(self, fn, *args):
        """A blocking hub method on the worker thread, so the other connections keep being read."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

class _Connection:
    """One client: the wyoming handler's contract (run/stop/handle_event), with the reading guarded."""

    def __init__(self, server: WyomingServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.server = server
        self.reader = _Watched(reader)
        self._raw_reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else "?"
        self.audio_in: bytearray | None = None
        self.audio_format: tuple[int, int, int] | None = None
        self.refused_why = False  # this stream's audio was refused: drop its chunks quietly until audio-stop
        self.satellite: str | None = None  # the name it gave in its info, when it is a satellite
        self.wake: str | None = None  # its last wake: "open" (contest undecided), "go", "lost"; None: none
        self.speech_end_ms: int | None = None  # audio-stop's timestamp: where speech ended in the stream

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
            self.server.rooms.leave(self)
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
        if self.server.rooms.is_theirs(event.type):  # what a satellite says: rooms.py
            return await self.server.rooms.event(self, event)
        if info.Describe.is_type(event.type):
            await self.write(self.server.info())
        elif asr.Transcribe.is_type(event.type):
            wanted = asr.Transcribe.from_event(event).language
            if wanted and wanted.split("-")[0].lower() != self.server.hub.language_code:
                await self.refuse(f"transcribe asked for language {wanted!r}; this recognizer speaks "
                                  f"{self.server.hub.language_code!r}")
        elif audio.AudioStart.is_type(event.type):
            start = audio.AudioStart.from_event(event)
            self._begin(int(start.rate), int(start.width), int(start.channels))
            if self.refused_why:
                await self.refuse(self.refused_why)
        elif audio.AudioChunk.is_type(event.type):
            await self._chunk(audio.AudioChunk.from_event(event))
        elif audio.AudioStop.is_type(event.type):
            stop = audio.AudioStop.from_event(event)
            self.speech_end_ms = None if stop.timestamp is None else int(stop.timestamp)
            await (self.server.rooms.finish_command(self) if self.satellite else self._finish())
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
        self.audio_format = (rate, width, channels)
        self.audio_in = bytearray()
        problem = self.server.hub.audio_problem(rate, width, channels)
        self.refused_why = f"audio at {rate} Hz, {width * 8}-bit, {channels} channel(s) refused: {problem}" \
            if problem else False

    async def _chunk(self, chunk) -> None:
        shape = (int(chunk.rate), int(chunk.width), int(chunk.channels))
        if self.audio_format is None:  # no audio-start: the first chunk says what the stream is
            self._begin(*shape)
            if self.refused_why:
                await self.refuse(self.refused_why)
        if self.refused_why:
            return
        rate, width, channels = self.audio_format
        if shape != self.audio_format:
            self.refused_why = "refused"
            await self.refuse(f"audio-chunk at {shape[0]} Hz, {shape[1] * 8}-bit, {shape[2]} channel(s) in a "
                              f"stream that started at {rate} Hz, {width * 8}-bit, {channels} channel(s)")
            return
        payload = chunk.audio or b""
        if len(payload) % (width * channels):
            self.refused_why = "refused"
            await self.refuse(f"audio-chunk of {len(payload)} bytes is not whole {width * 8}-bit samples of "
                              f"{channels} channel(s); stream refused")
            return
        self.audio_in += payload
        if len(self.audio_in) > MAX_AUDIO_S * rate * width * channels:
            self.refused_why = "refused"
            await self.refuse(f"audio stream longer than {MAX_AUDIO_S} s (one command at a time); stream refused")

    async def _finish(self) -> None:
        asr = self.server._lib[0]
        pcm, shape, refused = bytes(self.audio_in or b""), self.audio_format, self.refused_why
        self.audio_in, self.audio_format, self.refused_why = None, None, False
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
