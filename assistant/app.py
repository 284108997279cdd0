"""Builds the real parts from settings and wires them into a Pipeline (entry points call this).

The only module of the house, with the entry points, that imports adapters: the wake scorer, the VAD,
the speech engine (chosen here) and the MQTT client are built here and handed to the turn as the seams of
interfaces.py.

Speech engines (config.SPEECH_ENGINES): "grammar" takes Vosk when its model folder is present, else
PocketSphinx (whose model ships in its wheel), both limited to the grammar of the sentence templates;
"neural" is Whisper tiny.en, open vocabulary, prompted with the home's names; "fused" runs both on every
command and decides (fusion.py); "vosk" and "pocketsphinx" name one engine; "auto" is "fused" where the
Whisper model has been fetched, else "grammar". The choice is logged with its reason.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .config import SPEECH_ENGINES, MqttSettings, Settings, resolve_path
from .devices.registry import Registry, load_registry
from .dispatcher import Dispatcher
from .errors import ConfigError, UnknownWordsError
from .interfaces import EventSink, Recognizer, Understand, Vad, WakeRecheck, WakeScorer
from .listener import Listener
from .messages import Dispatched, Intent, Interaction, MqttMessage
from .pipeline import Pipeline
from .wake import WakePolicy, wake_phrase

if TYPE_CHECKING:
    from .adapters.mqtt import MqttClient
    from .intents.language import Language

log = logging.getLogger(__name__)
BROKER_START_TIMEOUT_S = 2.0  # replaying files: how long a broker may take to answer before we give up
WHISPER_MODEL = "whisper-tiny-en"  # the manifest's name for the neural engine's model folder


class PublishClock:
    """Passes an MQTT client through, remembering when the last publish was handed to the broker."""

    def __init__(self, client: MqttClient):
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

    dispatcher: Dispatcher
    clock: PublishClock | None

    def __call__(self, intents: tuple[Intent, ...]) -> Dispatched:
        start = time.perf_counter()
        result = self.dispatcher.dispatch(intents)
        end = time.perf_counter()
        if self.clock is None:  # a dry run
            return replace(result, dry_run=True)
        published = self.clock.last_publish if self.clock.last_publish >= start else end
        return replace(result, publish_ms=(published - start) * 1000 if result.messages else 0.0,
                       echo_ms=(end - start) * 1000)


@dataclass
class Assistant:
    """Everything one process needs to run turns: models loaded once, reused for every file or session."""

    settings: Settings
    registry: Registry
    scorer: WakeScorer
    vad: Vad
    recognizer: Recognizer
    language: Language
    dispatcher: Dispatcher
    clock: PublishClock | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)
    recheck: WakeRecheck | None = None  # a second look at unsure wake words (wake_recheck)

    def pipeline(self, on_event: EventSink, source: str = "",
                 on_turn: Callable[[Interaction], None] = lambda turn: None) -> Pipeline:
        """A fresh pipeline for one audio stream: model context reset, listener idle."""
        from .intents.matcher import match

        policy = WakePolicy(self.settings.wake, recheck=self.recheck is not None)
        primed_ms = self.scorer.reset()
        policy.reset(-primed_ms)
        listener = Listener(self.settings.listener, self.vad)
        language, area = self.language, self.settings.satellite.area
        from .adapters.memory import give_back

        def turned(turn: Interaction) -> None:
            on_turn(turn)
            give_back()  # after the turn is reported: what its decodes freed goes back to the system
        return Pipeline(self.settings, self.scorer, policy, listener, self.recognizer,
                        lambda text: match(language, text, area), TimedDispatcher(self.dispatcher, self.clock),
                        on_event, source, turned, recheck=self.recheck)

    def turn_pipeline(self, understand: Understand, on_event: EventSink, source: str = "") -> Pipeline:
        """A pipeline for turns whose audio was recorded elsewhere (a satellite's, at the hub): its own
        understanding (the satellite's area, its follow-ups), the shared recognizer and timed dispatcher."""
        return Pipeline(self.settings, self.scorer, WakePolicy(self.settings.wake),
                        Listener(self.settings.listener, self.vad), self.recognizer, understand,
                        TimedDispatcher(self.dispatcher, self.clock), on_event, source)

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
    from .intents.language import load_language as language_for

    registry = load_registry(settings.config_dir)
    closers: list[Callable[[], None]] = []
    clock = None
    client = None
    if mqtt is not None:
        client = connect(mqtt, required=broker_required)
        closers.append(client.close)
        clock = PublishClock(client)
    language = language_for(settings, registry.names())
    scorer = OpenWakeWordScorer(resolve_wake_words(settings.wake.wake_words, settings.models_dir),
                                settings.models_dir, settings.wake.warmup_ms)
    vad = SileroVad(settings.models_dir)
    recognizer = build_recognizer(settings, language)
    say(f"speech engine: {recognizer.name} ({choose_engine(settings)[1]})")
    dispatcher = Dispatcher(registry, mqtt or settings.mqtt, clock)
    return Assistant(settings, registry, scorer, vad, recognizer, language, dispatcher, clock, closers,
                     wake_recheck(settings, recognizer))


def wake_recheck(settings: Settings, recognizer: Recognizer) -> WakeRecheck | None:
    """The second look at an unsure wake word: Whisper's support for the wake phrase ('Hey Jarvis.') over
    the audio around it. None without the neural engine (grammar alone) or with recheck_threshold 0."""
    from .errors import SpeechError

    support = getattr(getattr(recognizer, "neural", recognizer), "support", None)
    if support is None or settings.wake.recheck_threshold <= 0:
        return None

    from .adapters.memory import give_back

    def recheck(wake_word: str, pcm: bytes) -> float:
        try:
            return support(pcm, [wake_phrase(wake_word)])[0]
        except SpeechError as exc:  # no second look is no wake word: the loop goes on listening
            log.warning("second look at the wake word failed: %s", exc)
            return float("-inf")
        finally:
            give_back()  # a second look is an encode and a decode between turns: give their memory back
    return recheck


def load_language(settings: Settings):
    """The language of the configured home: the sentence files filled with its registry's names."""
    from .intents.language import load_language as language_for

    return language_for(settings, load_registry(settings.config_dir).names())


# ---------------------------------------------------------------------- the speech engine

def vosk_model_dir(settings: Settings) -> Path:
    """The configured folder, or by default the one `assistant models fetch vosk-en-us-small` fills in the
    models folder in use (--models DIR / ASSISTANT_MODELS_DIR / models/)."""
    if not settings.speech.vosk_model_dir:
        return settings.models_dir / "vosk-en-us-small"
    return resolve_path(settings, settings.speech.vosk_model_dir)


def choose_engine(settings: Settings, engine: str | None = None) -> tuple[str, str]:
    """(recognizer, why) for the requested engine (default: settings.speech.engine); the recognizer is
    vosk, pocketsphinx or whisper."""
    from .adapters.vosk import is_vosk_model  # light: only checks files, vosk itself loads lazily

    engine = engine or settings.speech.engine
    if engine not in SPEECH_ENGINES:
        raise ConfigError(f"unknown speech engine {engine!r}; expected one of {', '.join(SPEECH_ENGINES)}")
    if engine == "neural":
        return "whisper", "requested neural"
    if engine == "fused":
        return "fused", "requested"
    if engine == "auto" and _whisper_present(settings):
        return "fused", f"Whisper model found in {settings.models_dir / WHISPER_MODEL}"
    if engine not in ("auto", "grammar"):
        return engine, "requested"
    model = vosk_model_dir(settings)
    if is_vosk_model(model):
        return "vosk", f"Vosk model found at {model}"
    from .manifest import models_command

    return "pocketsphinx", f"no Vosk model at {model} (run '{models_command('fetch vosk-en-us-small', settings.models_dir)}')"


def _whisper_present(settings: Settings) -> bool:
    # and its runtime: a lean install without the "neural" extra runs the grammar engine alone
    import importlib.util

    return (settings.models_dir / WHISPER_MODEL / "model.bin").is_file() \
        and importlib.util.find_spec("faster_whisper") is not None


def published_by(settings: Settings):
    """commands -> the set of messages a dry run of them publishes on the configured home (None for a
    question, or for commands that publish nothing or name nothing there): the fused engine's test of two
    readings being the same command."""
    from .errors import DeviceError

    planner = Dispatcher(load_registry(settings.config_dir), settings.mqtt, None)

    def published(intents):
        try:
            done = planner.dispatch(intents)
        except DeviceError:
            return None
        if not done.messages or any(i.name == "HassGetState" for i in intents):
            return None
        return frozenset((m.topic, m.payload) for m in done.messages)
    return published


def build_recognizer(settings: Settings, language: Language, engine: str | None = None) -> Recognizer:
    """A recognizer for `language` (from intents.load_language) using the configured or given engine."""
    from .intents.grammar import grammar_for

    name, why = choose_engine(settings, engine)
    log.info("speech engine: %s (%s)", name, why)
    if name == "fused":
        from .fusion import FusedRecognizer, near_sentences
        from .intents.matcher import match

        area = settings.satellite.area
        return FusedRecognizer(build_recognizer(settings, language, "grammar"),
                               build_recognizer(settings, language, "neural"),
                               lambda text: match(language, text, area), effect=published_by(settings),
                               near=near_sentences(grammar_for(language).fsm))
    if name == "whisper":
        from .adapters.whisper import WhisperRecognizer, vocabulary_prompt
        from .manifest import models_command, require

        return WhisperRecognizer(require(WHISPER_MODEL, settings.models_dir), vocabulary_prompt(language.home),
                                 min_confidence=settings.speech.min_confidence,
                                 verify=models_command("verify", settings.models_dir),
                                 vocabulary=sorted({word for _, _, word in grammar_for(language).fsm.arcs}))
    grammar = grammar_for(language)
    if name == "vosk":
        from .adapters.vosk import VoskRecognizer

        return VoskRecognizer(vosk_model_dir(settings), grammar.phrases, settings.speech.min_confidence)
    from .adapters.pocketsphinx import PocketSphinxRecognizer, Rejection
    from .adapters.rnnoise import load_rnnoise

    denoiser = load_rnnoise() if settings.speech.denoise == "auto" else None
    try:
        return PocketSphinxRecognizer(grammar, Rejection(threshold=settings.speech.min_confidence),
                                      denoiser=denoiser)
    except UnknownWordsError as exc:
        from .intents.words import unknown_words_error

        raise unknown_words_error(language, exc.words, "PocketSphinx") from None
