"""A satellite's connection to its hub over Wyoming, on a thread of its own (the audio loop never waits
for the network): it connects, says who it is (info with a satellite: name, area), reads the hub's
answers, and when the hub goes away says so once and keeps trying to reconnect every retry_s.

Out: detection (the wake word, with its score and speech-to-noise ratio in the context) and a command as
audio-start, audio-chunk*, audio-stop (whose timestamp is where speech ended); when the speaker pauses
before the end (the listener's SpeechPaused), the audio so far goes out at once with voice-stopped, so the
hub can decode during the satellite's hangover, and the rest follows. In: handled / not-handled
(the turn's outcome in words; context follow_up_ms, ignored) and not-detected with stand_down (another
satellite heard it better), each put on `answers` as a HubAnswer. A command whose answer never comes
because the connection broke is answered "lost": every command is acted on or reported failed.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import Callable

from ..errors import ConfigError
from ..messages import SAMPLE_RATE, HubAnswer, SpeechPaused, Utterance, WakeDetected

log = logging.getLogger(__name__)
CHUNK_BYTES = 2048 * 2  # 128 ms of 16 kHz 16-bit mono per audio-chunk
SEND_TIMEOUT_S = 2.0


def _lib():
    try:
        from wyoming import audio, client, handle, info, vad, wake
    except ImportError:
        raise ConfigError("a satellite needs the 'wyoming' package; run scripts/setup.sh") from None
    return audio, client, handle, info, wake, vad


class HubLink:
    def __init__(self, host: str, port: int, name: str, area: str | None,
                 say: Callable[[str], None] = lambda s: None, retry_s: float = 1.0):
        self.host, self.port, self.name, self.area = host, port, name, area
        self.say = say
        self.retry_s = retry_s
        self.answers: queue.Queue[HubAnswer] = queue.Queue()
        self._lib = _lib()
        self._loop = asyncio.new_event_loop()
        self._client = None
        self._awaiting = False  # a command was sent and its answer has not come
        self._stream: tuple[int, int] | None = None  # the stream being sent: (its start in audio ms, bytes sent)
        self._stopped = False
        self.connected = threading.Event()
        self.connections = 0  # how many times it (re)connected
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"hub-link-{name}", daemon=True)

    def start(self) -> "HubLink":
        self._thread.start()
        self._task = asyncio.run_coroutine_threadsafe(self._keep_connected(), self._loop)
        return self

    def close(self) -> None:
        self._stopped = True
        if self._loop.is_running():
            self._task.cancel()
            asyncio.run_coroutine_threadsafe(self._disconnect(), self._loop).result(timeout=SEND_TIMEOUT_S)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=SEND_TIMEOUT_S)

    # ------------------------------------------------------------------ from the audio loop

    def send_wake(self, wake: WakeDetected) -> bool:
        _, _, _, _, wake_lib, _ = self._lib
        context = {"score": round(wake.score, 4), "snr_db": wake.snr_db}
        return self._send([wake_lib.Detection(name=wake.wake_word, timestamp=wake.time_ms, context=context)])

    def send_pause(self, paused: SpeechPaused) -> bool:
        """The command so far, and that its speaker has paused (voice-stopped): the hub may start decoding."""
        vad = self._lib[5]
        events = self._stream_to(paused.pcm, paused.start_ms)
        events.append(vad.VoiceStopped(timestamp=paused.speech_end_ms - paused.start_ms))
        if not self._send(events):
            self._stream = None
            return False
        self._stream = (paused.start_ms, len(paused.pcm))
        return True

    def send_command(self, utterance: Utterance) -> bool:
        """The whole command (what a pause already sent is not sent again); False when the hub cannot be
        reached (the caller reports it failed)."""
        audio = self._lib[0]
        speech_end = None if utterance.speech_end_ms is None else utterance.speech_end_ms - utterance.start_ms
        events = self._stream_to(utterance.pcm, utterance.start_ms)
        events.append(audio.AudioStop(timestamp=speech_end))
        self._stream = None
        self._awaiting = True
        if not self._send(events):
            self._awaiting = False
            return False
        return True

    def _stream_to(self, pcm: bytes, start_ms: int) -> list:
        """Events that bring the hub's copy of this stream up to `pcm`: the rest of the stream in progress,
        or (a new recording, or its start moved) a new stream from audio-start."""
        audio = self._lib[0]
        shape = dict(rate=SAMPLE_RATE, width=2, channels=1)
        sent = self._stream[1] if self._stream is not None and self._stream[0] == start_ms else None
        events = [] if sent is not None else [audio.AudioStart(timestamp=0, **shape)]
        events += [audio.AudioChunk(audio=pcm[i:i + CHUNK_BYTES], timestamp=None, **shape)
                   for i in range(sent or 0, len(pcm), CHUNK_BYTES)]
        return events

    def _send(self, events) -> bool:
        if not self.connected.is_set():
            return False
        future = asyncio.run_coroutine_threadsafe(self._write(events), self._loop)
        try:
            return future.result(timeout=SEND_TIMEOUT_S)
        except Exception as exc:  # a timeout or a broken connection: the reader notices and reconnects
            log.debug("send to hub failed: %s", exc)
            return False

    # ------------------------------------------------------------------ on the link's thread

    async def _write(self, events) -> bool:
        client = self._client
        if client is None:
            return False
        try:
            for event in events:
                await client.write_event(event.event())
        except (ConnectionError, OSError) as exc:
            log.debug("write to hub failed: %s", exc)
            return False
        return True

    async def _keep_connected(self) -> None:
        _, client_lib, _, _, _, _ = self._lib
        lost_said = False
        while not self._stopped:
            client = client_lib.AsyncTcpClient(self.host, self.port)
            try:
                await asyncio.wait_for(client.connect(), SEND_TIMEOUT_S)
                await client.write_event(self._hello().event())
            except (OSError, asyncio.TimeoutError) as exc:
                if not lost_said:
                    self.say(f"satellite {self.name}: cannot reach the hub at {self.host}:{self.port} ({exc}); "
                             "still listening, trying again")
                    lost_said = True
                await asyncio.sleep(self.retry_s)
                continue
            self._client = client
            self.connections += 1
            self.connected.set()
            if lost_said:
                self.say(f"satellite {self.name}: the hub at {self.host}:{self.port} is back")
            lost_said = False
            await self._read(client)
            self.connected.clear()
            self._client = None
            if self._awaiting:
                self._awaiting = False
                self.answers.put(HubAnswer("lost", "the hub went away before answering; the command may not have "
                                                   "been carried out"))
            if not self._stopped:
                self.say(f"satellite {self.name}: lost the hub at {self.host}:{self.port}; still listening, "
                         "reconnecting")
                lost_said = True
            await self._disconnect(client)
            await asyncio.sleep(self.retry_s)

    async def _read(self, client) -> None:
        _, _, handle, _, wake, _ = self._lib
        while True:
            try:
                event = await client.read_event()
            except (ConnectionError, OSError, asyncio.IncompleteReadError):
                return
            if event is None:
                return
            if handle.Handled.is_type(event.type) or handle.NotHandled.is_type(event.type):
                done = handle.Handled.is_type(event.type)
                data = (handle.Handled if done else handle.NotHandled).from_event(event)
                context = data.context or {}
                kind = "ignored" if context.get("ignored") else ("handled" if done else "not_handled")
                self._awaiting = False
                self.answers.put(HubAnswer(kind, data.text or "", int(context.get("follow_up_ms") or 0)))
            elif wake.NotDetected.is_type(event.type):
                context = wake.NotDetected.from_event(event).context or {}
                if context.get("stand_down"):
                    self._awaiting = False
                    self.answers.put(HubAnswer("stand_down", str(context.get("why", ""))))
            elif event.type == "error":
                log.warning("satellite %s: the hub refused: %s", self.name, (event.data or {}).get("text"))
                if self._awaiting:
                    self._awaiting = False
                    self.answers.put(HubAnswer("not_handled", f"refused: {(event.data or {}).get('text')}"))

    async def _disconnect(self, client=None) -> None:
        client = client or self._client
        if client is not None:
            try:
                await client.disconnect()
            except (OSError, RuntimeError):
                pass

    def _hello(self):
        _, _, _, info, _, _ = self._lib
        who = info.Attribution(name="assistant", url="")
        return info.Info(satellite=info.Satellite(name=self.name, area=self.area, attribution=who, installed=True,
                                                  description=f"satellite {self.name}", version=None,
                                                  has_vad=True))
