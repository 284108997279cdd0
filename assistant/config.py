"""Typed settings, loaded once from defaults + config/assistant.yaml + CLI overrides, then passed down.

`load_yaml` and `YamlDoc` (yamlfile.py) are imported from here by the registry and sentence loaders too.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError
from .yamlfile import YamlDoc, load_yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_DIR = REPO_ROOT / "config"
DEFAULT_MODELS_DIR = REPO_ROOT / "models"


@dataclass(frozen=True)
class WakeSettings:
    wake_words: tuple[str, ...] = ("hey_jarvis",)
    threshold: float = 0.5
    # In a loud room the wake word's own score drops (development voices at 10 dB SNR: 63 % reach 0.5, 86 %
    # reach 0.35) while other speech in the same noise stays near 0. So the threshold slides from
    # `threshold` down to `noisy_threshold` as the background floor rises from quiet_floor_dbfs to
    # noisy_floor_dbfs. A quiet room keeps `threshold` exactly; noisy_threshold = threshold turns this off.
    noisy_threshold: float = 0.35
    quiet_floor_dbfs: float = -45.0
    noisy_floor_dbfs: float = -30.0
    trigger_frames: int = 1  # consecutive frames at or above threshold (openWakeWord's own default)
    refractory_ms: int = 2000  # ignore the same wake word for this long after a detection
    warmup_ms: int = 1360  # scores are unreliable for ~16 frames after a model reset
    # A second look: where the model is unsure (a run of frames reaching recheck_threshold but not the
    # threshold: several development voices peak at 0.1-0.5 on the wake word, ordinary speech rarely passes
    # 0.1), the speech recognizer scores the wake phrase against the last ~2 s of audio; at or above
    # recheck_support (a mean log-probability per token) it counts. Needs the Whisper model; 0 turns it off.
    recheck_threshold: float = 0.1
    recheck_support: float = -3.5


@dataclass(frozen=True)
class ListenerSettings:
    preroll_ms: int = 240  # audio kept from before the end of the wake word
    vad_threshold: float = 0.5
    silence_hangover_ms: int = 320  # this much non-speech after speech ends the command (HA: 700)
    early_decode_ms: int = 160  # after this much of the hangover, start decoding (0 = wait for the end)
    # In a loud steady background the recogniser suppresses the noise before decoding, which makes decoding
    # take longer (about 230 instead of 80 ms for a command): there it starts this early instead (0 = the
    # same as elsewhere). Both points count whole 80 ms frames (200 acts as 240), and this one matters only
    # if it comes before early_decode_ms (or that is 0) and before the end of the hangover.
    early_decode_noisy_ms: int = 80
    no_speech_timeout_ms: int = 4000  # nobody spoke after the wake word
    max_command_ms: int = 8000
    lookback_ms: int = 240  # before the wake onset frame: where its end is looked for (no pause seen: pre-roll)
    wake_tail_ms: int = 320  # after the onset frame: where the wake word's end is looked for (early firings)
    min_speech_ms: int = 320  # shorter speech then silence is a noise or the wake word's tail: keep waiting
    incomplete_hangover_ms: int = 0  # the hangover when the early decode found no command yet (0: the usual)


# auto: fused when the Whisper model is present, else grammar. grammar: Vosk when its model is present, else
# PocketSphinx, both limited to the sentences. neural: Whisper tiny.en, open vocabulary. fused: grammar and
# neural together, one decision (assistant/fusion.py).
SPEECH_ENGINES = ("auto", "fused", "grammar", "neural", "vosk", "pocketsphinx")


@dataclass(frozen=True)
class SpeechSettings:
    engine: str = "auto"  # one of SPEECH_ENGINES
    vosk_model_dir: str = ""  # "" = vosk-en-us-small in the models folder, where `models fetch` puts it
    language: str = "en"
    min_confidence: float = 0.5
    denoise: str = "auto"  # auto: suppress a loud steady background (RNNoise, when installed) | off


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never printed with the settings
    tls_ca: str | None = None
    base_topic: str = "zigbee2mqtt"
    satellite_id: str = "default"
    echo_timeout_ms: int = 2000
    keepalive_s: int = 30
    offline_queue_ms: int = 5000  # a command waits this long for a lost broker, then fails (never sent late)
    reconnect_min_ms: int = 500  # reconnect backoff: first retry after this, doubling ...
    reconnect_max_ms: int = 2000  # ... up to this (a local broker that is back is found within 2 s)


@dataclass(frozen=True)
class SatelliteSettings:
    # The area this microphone is in: "turn off the lights", "in here" and "this room" mean it. None: such a
    # request is answered with a question instead of a guess.
    area: str | None = None


@dataclass(frozen=True)
class Settings:
    config_dir: Path = DEFAULT_CONFIG_DIR
    models_dir: Path = DEFAULT_MODELS_DIR
    wake: WakeSettings = field(default_factory=WakeSettings)
    listener: ListenerSettings = field(default_factory=ListenerSettings)
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    satellite: SatelliteSettings = field(default_factory=SatelliteSettings)

    def with_overrides(self, **sections: Mapping[str, Any]) -> "Settings":
        """Return a copy with some fields of some sections replaced (None values are ignored)."""
        new = self
        for section, values in sections.items():
            current = getattr(new, section)
            clean = {k: v for k, v in values.items() if v is not None}
            if clean:
                new = replace(new, **{section: replace(current, **clean)})
        return new


_SECTIONS = {"wake": WakeSettings, "listener": ListenerSettings, "speech": SpeechSettings, "mqtt": MqttSettings,
             "satellite": SatelliteSettings}


def _coerce(doc: YamlDoc, section: str, key: str, value: Any, default: Any) -> Any:
    expected = type(default)
    if isinstance(default, tuple):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise doc.error("expected a list of names", section, key)
        return tuple(items)
    if default is None:
        if value is not None and not isinstance(value, (str, int)):
            raise doc.error("expected text", section, key)
        return None if value is None else str(value)
    if expected is bool:
        if not isinstance(value, bool):
            raise doc.error("expected true or false", section, key)
        return value
    if expected is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise doc.error("must not be negative", section, key)
        return value
    if expected is str and isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    raise doc.error(f"expected {expected.__name__}, got {value!r}", section, key)


def load_settings(config_dir: Path | str | None = None, models_dir: Path | str | None = None) -> Settings:
    """Defaults, then <config_dir>/assistant.yaml if present. Unknown keys are errors, not ignored."""
    config_dir = Path(config_dir) if config_dir else DEFAULT_CONFIG_DIR
    if not config_dir.is_dir():  # else each loader would report its own missing file, never the real cause
        what = "is not a folder" if config_dir.exists() else "does not exist"
        raise ConfigError(f"config folder {config_dir} {what}; give --config the folder that holds assistant.yaml, "
                          f"devices.yaml and sentences/ (copy {DEFAULT_CONFIG_DIR} to start a new one)")
    env_models = os.environ.get("ASSISTANT_MODELS_DIR")
    settings = Settings(config_dir=config_dir, models_dir=Path(models_dir or env_models or DEFAULT_MODELS_DIR))
    path = config_dir / "assistant.yaml"
    if not path.exists():
        return settings
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise doc.error("expected a mapping of sections (wake, listener, speech, mqtt, satellite)")
    for section, values in doc.data.items():
        cls = _SECTIONS.get(section)
        if cls is None:
            raise doc.error(f"unknown section; expected one of {', '.join(_SECTIONS)}", section)
        if not isinstance(values, dict):
            raise doc.error("expected a mapping", section)
        current = getattr(settings, section)
        known = {f.name: f for f in fields(cls)}
        changes = {}
        for key, value in values.items():
            if key not in known:
                raise doc.error(f"unknown key; expected one of {', '.join(known)}", section, key)
            if (section, key, value) == ("speech", "denoise", False):  # YAML reads a bare off as false
                value = "off"
            changes[key] = _coerce(doc, section, key, value, getattr(current, key))
        for key in ("threshold", "noisy_threshold"):
            if section == "wake" and key in changes and not 0 < changes[key] <= 1:
                raise doc.error("must be between 0 and 1", section, key)
        if section == "wake" and "recheck_threshold" in changes and not 0 <= changes["recheck_threshold"] < 1:
            raise doc.error("must be from 0 (off) to below 1", section, "recheck_threshold")
        if section == "wake" and "recheck_support" in changes and changes["recheck_support"] > 0:
            raise doc.error("must be 0 or below (a mean log-probability)", section, "recheck_support")
        if section == "speech" and changes.get("denoise", "auto") not in ("auto", "off"):
            raise doc.error("expected auto or off", section, "denoise")
        if section == "speech" and changes.get("engine", "auto") not in SPEECH_ENGINES:
            raise doc.error(f"expected {', '.join(SPEECH_ENGINES[:-1])} or {SPEECH_ENGINES[-1]}", section, "engine")
        if section == "mqtt" and "port" in changes and not 0 < changes["port"] < 65536:
            raise doc.error("expected a port number, 1-65535", section, "port")
        if section == "wake":
            wake = replace(current, **changes)
            if wake.noisy_threshold > wake.threshold:
                raise doc.error(f"must not be above threshold ({wake.threshold:g}); set it equal to turn the "
                                "noise adaptation off", section, "noisy_threshold")
            if wake.quiet_floor_dbfs >= wake.noisy_floor_dbfs:
                raise doc.error(f"must be below noisy_floor_dbfs ({wake.noisy_floor_dbfs:g})", section,
                                "quiet_floor_dbfs")
        settings = dataclasses.replace(settings, **{section: replace(current, **changes)})
    return settings


def resolve_path(settings: Settings, value: str | Path) -> Path:
    """Relative paths in settings are relative to the repository root."""
    p = Path(value)
    return p if p.is_absolute() else REPO_ROOT / p
