"""The seams of the house: what each stage needs from the part handed to it, as Protocols.

The turn (listener, pipeline, dispatcher) is written against these; the wiring (app.py) builds the real
parts from adapters/, and tests hand in tiny fakes. Nothing here imports a heavy library or an adapter.
"""

from __future__ import annotations

from typing import Callable, Iterator, Protocol, runtime_checkable

from .messages import AudioFrame, Dispatched, Intent, MqttMessage, NotUnderstood, Transcript, WakeScores


class AudioSource(Protocol):
    """A microphone or a WAV file: the same iterator of 80 ms frames, in order, timed from 0."""

    def __iter__(self) -> Iterator[AudioFrame]: ...


class WakeScorer(Protocol):
    """Raw per-model wake-word scores; the threshold and timing policy live in wake.WakePolicy."""

    def score(self, frame: AudioFrame) -> WakeScores: ...

    def reset(self) -> int:
        """Forget the audio context; returns the ms of silence it was primed with."""
        ...


class WakeRecheck(Protocol):
    """A second look at a wake word the model was unsure of: how well its phrase explains the audio (a mean
    log-probability per token, <= 0)."""

    def __call__(self, wake_word: str, pcm: bytes) -> float: ...


class Vad(Protocol):
    """Voice activity: the probability (0-1) that a frame holds speech."""

    def reset(self) -> None: ...

    def probability(self, frame: AudioFrame) -> float: ...


@runtime_checkable
class Recognizer(Protocol):
    """Speech to text: one whole utterance of 16 kHz mono int16 little-endian PCM -> a Transcript."""

    name: str

    def transcribe(self, pcm: bytes) -> Transcript:
        """One whole utterance."""
        ...

    def suppresses(self, pcm: bytes) -> bool:
        """Whether transcribe() would first suppress this audio's background (and so take longer)."""
        ...

    def accept(self, pcm: bytes) -> None:
        """Streaming form: feed audio as it arrives ..."""
        ...

    def finish(self) -> Transcript:
        """... then get the transcript of everything fed since the last finish()."""
        ...


class Understand(Protocol):
    """Text -> the intents it holds, in order, or NotUnderstood saying why (intents.matcher.match, bound to
    a language and an area)."""

    def __call__(self, text: str) -> tuple[Intent, ...] | NotUnderstood: ...


class Dispatch(Protocol):
    """One turn's intents -> what they did (dispatcher.Dispatcher.dispatch, timed by app.TimedDispatcher)."""

    def __call__(self, intents: tuple[Intent, ...]) -> Dispatched: ...


class Publisher(Protocol):
    """Hands a message to the broker; raises BrokerError when the broker is unavailable."""

    def publish(self, message: MqttMessage) -> None: ...


class MqttPort(Publisher, Protocol):
    """What the dispatcher needs from an MQTT client (adapters.mqtt.MqttClient provides it). A client
    reports each (re)connection after the first as a message on mqtt_codec.CONNECTED_TOPIC, in order with
    the messages around it."""

    connected: bool

    def subscribe(self, *topics: str) -> None: ...
    def get(self, timeout_s: float) -> MqttMessage | None: ...
    def drain(self) -> list[MqttMessage]: ...
    def wait_connected(self, timeout_s: float) -> bool: ...


class Clock(Protocol):
    """Now, in milliseconds from any fixed origin (the dispatcher's driver reads time.monotonic)."""

    def __call__(self) -> float: ...


EventSink = Callable[[dict], None]
