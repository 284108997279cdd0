"""Builds the real parts from settings and wires them into a Pipeline (entry points call this)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .config import MqttSettings, Settings
from .devices.registry import Registry, load_registry
from .listener import Listener
from .messages import Intent, Interaction, MqttMessage
from .pipeline import Dispatched, EventSink, Pipeline
from .wake import WakePolicy

log = logging.getLogger(__name__)
BROKER_START_TIMEOUT_S = 2.0  # replaying files: how long a broker may take to answer before we give up


class _PublishClock:
    """Passes an MQTT client through, remembering when the last publish was handed to the broker."""

    def __init__(self, client: Any):
        self._client = client
        self.last_publish = 0.0

    def publish(self, message: MqttMessage, *args, **kwargs) -> None:
        self._client.publish(message, *args, **kwargs)
        self.last_publish = time.perf_counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@dataclass
class TimedDispatcher:
    """Adapts the Dispatcher to the pipeline: adds wall-clock publish and echo timings."""

    dispatcher: Any
    clock: _PublishClock | None

    def __call__(self, intents: tuple[Intent, ...]) -> Dispatched:
        start = time.perf_counter()
        result = self.dispatcher.dispatch(intents)
        end = time.perf_counter()
        if self.clock is None:  # a dry run
            return Dispatched(result.commands, result.messages, result.outcomes, dry_run=True)
        published = self.clock.last_publish if self.clock.last_publish >= start else end
        return Dispatched(result.commands, result.messages, result.outcomes,
                          publish_ms=(published - start) * 1000 if result.messages else 0.0,
                          echo_ms=(end - start) * 1000)


@dataclass
class Assistant:
    """Everything one process needs to run turns: models loaded once, reused for every file or session."""

    settings: Settings
    registry: Registry
    scorer: Any
    vad: Any
    recognizer: Any
    language: Any
    dispatcher: Any
    clock: _PublishClock | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def pipeline(self, on_event: EventSink, source: str = "",
                 on_turn: Callable[[Interaction], None] = lambda turn: None) -> Pipeline:
        """A fresh pipeline for one audio stream: model context reset, listener idle."""
        from .intents.matcher import match

        policy = WakePolicy(self.settings.wake)
        primed_ms = self.scorer.reset()
        policy.reset(-primed_ms)
        listener = Listener(self.settings.listener, self.vad)
        language, area = self.language, self.settings.satellite.area
        return Pipeline(self.settings, self.scorer, policy, listener, self.recognizer,
                        lambda text: match(language, text, area), TimedDispatcher(self.dispatcher, self.clock),
                        on_event, source, on_turn)

    def close(self) -> None:
        for close in reversed(self.closers):
            try:
                close()
            except Exception as exc:  # closing must never hide the real outcome
                log.debug("close failed: %s", exc)


def start_own_broker(say: Callable[[str], None] = lambda s: None) -> Any:
    """The broker `demo` and `simulate --embedded` start for themselves, already listening on 127.0.0.1:
    a private Mosquitto where its binary exists (the setup installs it), else the in-process amqtt broker,
    and then `say` gets one line on what that one gets wrong. The result has host, port, kind and stop()."""
    from .adapters import mosquitto

    binary = mosquitto.find_binary()
    if binary is not None:
        broker = mosquitto.PrivateMosquitto(binary)
        broker.start()
        return broker
    from .adapters.embedded_broker import EmbeddedBroker

    broker = EmbeddedBroker()
    broker.start()
    say(f"note: no mosquitto here, so the built-in amqtt broker stands in: {broker.degraded}; "
        "install the Debian package 'mosquitto' (scripts/setup.sh does) for a correct broker")
    return broker


def broker_hint(broker: Any) -> str:
    """The first line a user sees: where the broker is, and how to watch it."""
    where = f"{broker.host}:{broker.port}"
    return (f"MQTT broker ({broker.kind}) on {where}; watch it with: mosquitto_sub -h {broker.host} "
            f"-p {broker.port} -t '#' -v")


def connect(mqtt: MqttSettings, client_id_prefix: str = "assistant", required: bool = False) -> Any:
    """The assistant's MQTT client. By default an absent broker is a warning, not an error: the voice loop
    starts anyway and the client reconnects in the background (wrong credentials or TLS still stop us).
    required=True: an absent broker is a BrokerError at once."""
    from .adapters.mqtt import MqttClient

    if required:
        return MqttClient(mqtt, connect_timeout_s=BROKER_START_TIMEOUT_S)
    return MqttClient(mqtt, required=False)


def build(settings: Settings, mqtt: MqttSettings | None, *, say: Callable[[str], None] = lambda s: None,
          broker_required: bool = False) -> Assistant:
    """Connect and load models. mqtt=None is a dry run: messages are computed, never published.
    broker_required: a broker that refuses or does not resolve now is a BrokerError within about
    BROKER_START_TIMEOUT_S, before any model loads (replaying files); otherwise (a service) it is one
    warning and the client keeps trying. Either way a broker lost later is waited for (offline queue)."""
    from .adapters.openwakeword import OpenWakeWordScorer, resolve_wake_words
    from .adapters.silero_vad import SileroVad
    from .dispatcher import Dispatcher
    from .intents.language import load_language as language_for
    from .speech import build_recognizer, choose_engine

    registry = load_registry(settings.config_dir)
    closers: list[Callable[[], None]] = []
    clock = None
    client = None
    if mqtt is not None:
        client = connect(mqtt, required=broker_required)
        closers.append(client.close)
        clock = _PublishClock(client)
    language = language_for(settings, registry.names())
    scorer = OpenWakeWordScorer(resolve_wake_words(settings.wake.wake_words, settings.models_dir),
                                settings.models_dir, settings.wake.warmup_ms)
    vad = SileroVad(settings.models_dir)
    recognizer = build_recognizer(settings, language)
    say(f"speech engine: {recognizer.name} ({choose_engine(settings)[1]})")
    dispatcher = Dispatcher(registry, mqtt or settings.mqtt, clock)
    return Assistant(settings, registry, scorer, vad, recognizer, language, dispatcher, clock, closers)


def load_language(settings: Settings):
    """The language of the configured home: the sentence files filled with its registry's names."""
    from .intents.language import load_language as language_for

    return language_for(settings, load_registry(settings.config_dir).names())
