"""Property-based fuzzing of everything that reads outside input: WAV files, MQTT payloads, YAML files.

Bounded for CI (FUZZ_EXAMPLES, default 40 per property, no deadline); scripts/fuzz.py runs the same
properties with many more examples.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.audio import read_wav
from assistant.config import SPEECH_ENGINES, MqttSettings, Settings, load_settings
from assistant.devices.catalog import ModelSpec
from assistant.devices.registry import load_registry
from assistant.dispatcher import Dispatcher
from assistant.errors import AudioError, ConfigError, DeviceError
from assistant.messages import Intent, MqttMessage
from assistant.sim.bridge import UNREACHABLE_REQUEST, Bridge

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=os.environ.get("FUZZ_RANDOM") is None)
REGISTRY = load_registry(CONFIG)
BASE = REGISTRY.base_topic


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# --------------------------------------------------------------------------- WAV files


def wav_bytes(tag=1, channels=1, rate=16000, bits=16, frames=400, fmt_extra=b"", seed=0) -> bytes:
    width = max(bits // 8, 1)
    data = np.random.default_rng(seed).integers(0, 256, frames * channels * width, dtype=np.uint8).tobytes()
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * channels * width, channels * width, bits) + fmt_extra
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


# Header fields at their byte offsets in wav_bytes(): tag 20, channels 22, rate 24, bits 34, fmt size 16, data size 40.
FIELDS = {20: "<H", 22: "<H", 24: "<I", 34: "<H", 16: "<I", 40: "<I", 4: "<I"}
INTERESTING = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 64, 255, 0xFFFE, 0xFFFF, 7999, 48001, 2**31, 2**32 - 1]


@st.composite
def mutated_wav(draw) -> bytes:
    data = bytearray(wav_bytes(tag=draw(st.sampled_from([1, 3, 0xFFFE])), channels=draw(st.integers(1, 3)),
                               bits=draw(st.sampled_from([8, 16, 24, 32])), frames=draw(st.integers(0, 300)),
                               fmt_extra=draw(st.sampled_from([b"", b"\0\0", bytes(24)]))))
    for _ in range(draw(st.integers(0, 3))):
        offset, fmt = draw(st.sampled_from(sorted(FIELDS.items())))
        limit = 2 ** (8 * struct.calcsize(fmt)) - 1
        value = draw(st.sampled_from([v for v in INTERESTING if v <= limit]) | st.integers(0, limit))
        struct.pack_into(fmt, data, offset, value)
    for _ in range(draw(st.integers(0, 4))):  # random byte flips anywhere
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) if draw(st.booleans()) else bytes(data)


@FUZZ
@given(blob=mutated_wav() | st.binary(max_size=200))
def test_wav_reader_raises_only_audio_error(workdir, blob):
    path = workdir / "fuzz.wav"
    path.write_bytes(blob)
    try:
        samples = read_wav(path)
    except AudioError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    assert samples.dtype == np.int16 and samples.ndim == 1


@pytest.mark.parametrize("bits", [0, 4, 12])
def test_sub_byte_sample_size_is_an_audio_error(workdir, bits):
    path = workdir / f"bits{bits}.wav"
    path.write_bytes(wav_bytes(bits=bits, frames=100))
    with pytest.raises(AudioError):
        read_wav(path)


# --------------------------------------------------------------------------- MQTT payloads

KEYS = ["state", "brightness", "brightness_step", "brightness_step_onoff", "color_temp", "color_temp_step", "color",
        "position", "fan_mode", "fan_state", "transition", "scene_recall", "scene_store", "scene_remove",
        "scene_remove_all", "id", "value", "transaction", "x", "y", "hex", "ID", "name", "level", "message"]
scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=12) | st.sampled_from(["ON", "OFF", "TOGGLE", "OPEN", "CLOSE", "STOP", "auto", "3",
                                                    "online", "offline", "#ff0000", "error", "kitchen_light"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=4),
                           max_leaves=12)
payloads = (st.dictionaries(st.sampled_from(KEYS), json_values, max_size=5).map(json.dumps)
            | json_values.map(json.dumps) | st.text(max_size=40)
            | st.sampled_from(["", "{", "ON", "toggle", "[]", "null", "{" * 3000, "x" * 5000]))

NAMES = list(REGISTRY.devices) + list(REGISTRY.groups) + ["bridge", "unknown_lamp", ""]
SIM_TOPICS = ([f"{BASE}/{n}/set" for n in NAMES] + [f"{BASE}/{n}/get" for n in NAMES]
              + [f"{BASE}/bridge/request/{UNREACHABLE_REQUEST}"])


def assert_state_valid(bridge: Bridge) -> None:
    for name, state in bridge.states.items():
        spec = REGISTRY.devices[name].spec
        for key, attr in spec.attributes.items():
            if key not in state:
                continue
            value = state[key]
            if attr.kind == "enum":
                assert value in attr.values and value != "TOGGLE", (name, key, value)
            elif attr.kind == "numeric":
                assert type(value) is int and attr.minimum <= value <= attr.maximum, (name, key, value)
            elif attr.kind == "color":
                assert set(value) >= {"x", "y"} and all(0 <= value[k] <= 1 for k in "xy"), (name, value)
        json.dumps(state, allow_nan=False)  # what it publishes is strict JSON


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(SIM_TOPICS), payloads), min_size=1, max_size=25))
def test_simulated_bridge_survives_any_payload_and_keeps_valid_states(messages):
    bridge = Bridge(REGISTRY)
    for topic, payload in messages:
        out = bridge.handle(MqttMessage(topic, payload))
        for message in out:
            assert message.topic.startswith(f"{BASE}/") or message.topic.startswith("homeassistant/")
            assert "internal error" not in message.payload, (topic, payload)
        assert_state_valid(bridge)


DISPATCH_TOPICS = ([f"{BASE}/{n}" for n in NAMES] + [f"{BASE}/{n}/availability" for n in NAMES]
                   + [f"{BASE}/bridge/state", f"{BASE}/bridge/logging", f"{BASE}/bridge/devices"])
TURNS = [Intent("HassLightSet", {"name": "desk_lamp", "brightness_step": 25}),
         Intent("HassLightSet", {"name": "living_room_lamp", "color_temp_step_kelvin": -500}),
         Intent("HassLightSet", {"group": "downstairs_lights", "brightness_step": -10}),
         Intent("HassTurnOn", {"scene": "movie_night"}), Intent("HassTurnOff", {}),
         Intent("HassSetPosition", {"name": "living_room_blinds", "position": 40}),
         Intent("SetFanMode", {"name": "air_purifier", "fan_mode": "auto"})] + [
    Intent("HassGetState", {"name": d, "attribute": a}) for d in REGISTRY.devices
    for a in ("state", "brightness", "position", "fan_mode", "color_temp")]


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(DISPATCH_TOPICS), payloads, st.booleans()), min_size=1, max_size=25))
def test_dispatcher_absorbs_any_reported_state_and_still_plans_every_command(messages):
    dispatcher = Dispatcher(REGISTRY, MqttSettings())  # dry run: the planning core, fed what the broker brought
    for topic, payload, retain in messages:
        dispatcher.session.receive(MqttMessage(topic, payload, retain=retain), now_ms=0.0)
    for intent in TURNS:
        try:
            result = dispatcher.dispatch([intent])
        except DeviceError as exc:  # a refusal is fine; a crash is not
            pytest.fail(f"{intent}: {exc} after {messages}")
        for message in result.messages:
            json.loads(message.payload)


# --------------------------------------------------------------------------- YAML files

ODD_VALUES = ["-1", "[", "{", "]", "'open", '"x', "null", "~", "true", "1e999", "0x1F", ".nan", "&a x", "*a",
              "!!python/object/apply:os.system ['true']", "!!binary aGk=", ": :", "\t", "- - -", "{a: [1, {b: 2}]}",
              "9" * 40, "x" * 300, "@", "`", "%TAG ! x", "<<: *a", "? complex", "|", ">-", "'''"]


yaml_text = st.text(max_size=20)  # control characters, surrogates and all


@st.composite
def mutated_yaml(draw, original: str) -> str:
    lines = original.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        match draw(st.sampled_from(["delete", "duplicate", "indent", "dedent", "value", "insert", "key"])):
            case "delete":
                del lines[i]
            case "duplicate":
                lines.insert(i, lines[i])
            case "indent":
                lines[i] = " " * draw(st.integers(1, 5)) + lines[i]
            case "dedent":
                lines[i] = lines[i].lstrip()
            case "value":
                head = lines[i].split(":", 1)[0] if ":" in lines[i] else lines[i]
                lines[i] = f"{head}: {draw(st.sampled_from(ODD_VALUES) | yaml_text)}"
            case "insert":
                lines.insert(i, draw(st.sampled_from(ODD_VALUES) | yaml_text))
            case "key":
                lines[i] = draw(st.sampled_from(["unknown_key: 1", "- item", "devices:", "mqtt:", "  port: -5",
                                                 "  echo_timeout_ms: fast", "lists:", "intents: []"]))
    return "\n".join(lines) + "\n"


def assert_config_error_names_file_and_line(exc: ConfigError, path: Path) -> None:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    assert re.match(re.escape(str(path)) + r":\d+: ", text), text


def assert_settings_sound(loaded) -> None:
    """Accepted settings hold, in every field, a value of the kind its default has (a number where a number
    is meant, text where text is): a loader that let a mutated line through unchecked fails here."""
    defaults = Settings()
    for section in ("wake", "listener", "speech", "mqtt", "satellite"):
        for f in dataclasses.fields(getattr(defaults, section)):
            value, default = getattr(getattr(loaded, section), f.name), getattr(getattr(defaults, section), f.name)
            if default is None:
                assert value is None or isinstance(value, str), (section, f.name, value)
            elif isinstance(default, bool):
                assert isinstance(value, bool), (section, f.name, value)
            elif isinstance(default, float):
                assert isinstance(value, (int, float)) and not isinstance(value, bool), (section, f.name, value)
            elif isinstance(default, int):
                assert isinstance(value, int) and not isinstance(value, bool), (section, f.name, value)
            elif isinstance(default, tuple):
                assert isinstance(value, tuple) and all(isinstance(v, str) for v in value), (section, f.name, value)
            else:
                assert isinstance(value, type(default)), (section, f.name, value)
    assert loaded.speech.engine in SPEECH_ENGINES


def assert_registry_sound(registry) -> None:
    """An accepted registry names real catalog models and only what it defines."""
    assert isinstance(registry.base_topic, str) and registry.base_topic
    for name, device in registry.devices.items():
        assert device.name == name and isinstance(device.spec, ModelSpec)
        assert device.area is None or isinstance(device.area, str)
    for group in registry.groups.values():
        assert group.members and set(group.members) <= set(registry.devices), group
    for scene in registry.scenes.values():
        assert scene.group in registry.groups and set(scene.states) <= set(registry.devices), scene


def _config_dir(workdir: Path, name: str, text: str) -> Path:
    folder = workdir / name
    folder.mkdir(exist_ok=True)
    (folder / ("assistant.yaml" if name == "settings" else "devices.yaml")).write_text(text, encoding="utf-8")
    return folder


def test_control_character_in_yaml_is_one_line_with_its_line(workdir):
    folder = _config_dir(workdir, "settings", "wake:\n  threshold: \x1f\n")
    with pytest.raises(ConfigError) as err:
        load_settings(folder)
    assert_config_error_names_file_and_line(err.value, folder / "assistant.yaml")


@FUZZ
@given(text=mutated_yaml((CONFIG / "assistant.yaml").read_text()))
def test_settings_loader_gives_config_error_with_file_and_line(workdir, text):
    folder = _config_dir(workdir, "settings", text)
    try:
        loaded = load_settings(folder)
    except ConfigError as exc:
        assert_config_error_names_file_and_line(exc, folder / "assistant.yaml")
    else:
        assert_settings_sound(loaded)


@FUZZ
@given(text=mutated_yaml((CONFIG / "devices.yaml").read_text()))
def test_registry_loader_gives_config_error_with_file_and_line(workdir, text):
    folder = _config_dir(workdir, "registry", text)
    try:
        registry = load_registry(folder)
    except ConfigError as exc:
        assert_config_error_names_file_and_line(exc, folder / "devices.yaml")
    else:
        assert_registry_sound(registry)


SENTENCES = CONFIG / "sentences" / "en.yaml"


@pytest.mark.skipif(not SENTENCES.exists(), reason="no sentence file in this checkout")
@settings(parent=FUZZ, max_examples=max(EXAMPLES // 2, 10))
@given(text=mutated_yaml(SENTENCES.read_text() if SENTENCES.exists() else "x: 1"))
def test_sentence_loader_gives_config_error_with_file_and_line(workdir, text):
    language = pytest.importorskip("assistant.intents.language")
    path = workdir / "en.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        home = REGISTRY.names()
        loaded = language.language_from_file(path, home)
    except ConfigError as exc:
        assert_config_error_names_file_and_line(exc, path)
    else:  # what was accepted is a grammar for this home that the matcher can use
        assert loaded.home is home and loaded.intents.intents
        assert all(isinstance(n, str) and n for n in loaded.intents.intents)


@pytest.mark.parametrize("text, problem", [("speech:\n  engine: whisper\n",
                                            "expected auto, fused, grammar, neural, vosk or pocketsphinx"),
                                           ("mqtt:\n  port: 99999\n", "expected a port number")])
def test_settings_that_would_only_fail_later_fail_at_load_with_their_line(workdir, text, problem):
    folder = _config_dir(workdir, "settings", text)
    with pytest.raises(ConfigError, match=problem) as err:
        load_settings(folder)
    assert_config_error_names_file_and_line(err.value, folder / "assistant.yaml")
    assert str(err.value).startswith(f"{folder / 'assistant.yaml'}:2: ")
