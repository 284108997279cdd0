"""The command line as a person or a script meets it: errors, help texts, flags, streamed output."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from assistant.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
GOOD_WAV = FIXTURES / "turns" / "turn_on_the_kitchen_light__joe.wav"
BAD_WAV = FIXTURES / "bad" / "truncated.wav"


@pytest.mark.models
@pytest.mark.parametrize("argv, extra", [
    (["wake", "--json"], {}),
    (["transcribe", "--json", "--engine", "pocketsphinx"], {}),
    (["run", "--json", "--dry-run"], {"event": "error"}),
])
def test_a_bad_file_is_one_json_line_of_the_same_shape_in_every_command(tmp_path, capsys, argv, extra):
    missing = tmp_path / "missing.wav"
    files = [str(BAD_WAV), str(GOOD_WAV), str(missing)]
    assert main(argv + files) == 1  # the bad files fail the command, at the end
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    errors = [r for r in rows if "error" in r]
    assert [set(r) for r in errors] == [{*extra, "file", "error"}] * 2
    assert [{k: r[k] for k in extra} for r in errors] == [extra] * 2
    assert errors[0]["file"] == str(BAD_WAV) and errors[0]["error"].startswith(f"{BAD_WAV}: truncated WAV")
    assert errors[1] == {**extra, "file": str(missing), "error": f"{missing}: no such file"}
    assert [r["file"] for r in rows if "error" not in r][:1] == [str(GOOD_WAV)]  # the good file was not lost
    said = [line for line in err.splitlines() if line.startswith("error: ")]
    assert said == [f"error: {r['error']}" for r in errors] and "Traceback" not in err


@pytest.mark.models
def test_transcribe_without_json_reports_a_bad_file_on_stderr_only(tmp_path, capsys):
    missing = tmp_path / "missing.wav"
    assert main(["transcribe", "--engine", "pocketsphinx", str(missing), str(GOOD_WAV)]) == 1
    out, err = capsys.readouterr()
    assert f"error: {missing}: no such file" in err.splitlines() and "missing.wav" not in out
    assert [line.split(": ")[0] for line in out.splitlines()] == [str(GOOD_WAV)]


@pytest.mark.models
def test_transcribe_refuses_a_recording_longer_than_a_command_and_goes_on(tmp_path, capsys):
    import numpy as np

    from assistant.audio import write_wav
    from assistant.commands.transcribe import MAX_SECONDS

    long = tmp_path / "long.wav"
    write_wav(long, (np.random.default_rng(0).standard_normal(16000 * (MAX_SECONDS + 1)) * 30).astype(np.int16))
    assert main(["transcribe", "--json", "--engine", "pocketsphinx", str(long), str(GOOD_WAV)]) == 1
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0] == {"file": str(long), "error": f"{long}: 61 s is longer than a command ({MAX_SECONDS} s at most); "
                       "'transcribe' takes one command per file, 'assistant run' a recording of many turns"}
    assert rows[1]["file"] == str(GOOD_WAV) and "error" not in rows[1] and rows[1]["engine"] == "pocketsphinx"


def _help(capsys, command: str) -> str:
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_help_says_what_each_command_does_without_broker(capsys):
    demo = _help(capsys, "demo")
    assert "default: a private Mosquitto on 127.0.0.1" in demo and "127.0.0.1:1883" not in demo
    assert "default: no broker, a dry run" in _help(capsys, "evaluate")
    assert "default from settings, 127.0.0.1:1883" in _help(capsys, "run")


def test_transcribe_help_says_the_file_holds_the_command_without_the_wake_word(capsys):
    """A clip that starts with "hey jarvis" gets confidently wrong text: the help must say so and where to go."""
    text = _help(capsys, "transcribe")
    assert "no wake word" in text and "assistant run FILE --dry-run" in text
    with pytest.raises(SystemExit):
        main(["--help"])
    listing = " ".join(capsys.readouterr().out.split())
    assert "spoken commands, without the wake word, into text" in listing


@pytest.mark.parametrize("flags", [["--dry-run", "--broker", "127.0.0.1:1883"],
                                   ["--broker", "127.0.0.1:1883", "--dry-run"]])
def test_run_refuses_dry_run_together_with_a_broker(capsys, flags):
    with pytest.raises(SystemExit) as stop:
        main(["run", *flags, str(GOOD_WAV)])
    assert stop.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("assistant run: error: argument ") and "not allowed with argument" in error


def test_simulate_refuses_embedded_together_with_a_broker(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["simulate", "--embedded", "--broker", "127.0.0.1:1883"])
    assert stop.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("assistant simulate: error: argument ") and "not allowed with argument" in error


@pytest.mark.parametrize("value, host, port", [
    ("[::1]:1883", "::1", 1883), ("[fd00::5]:8883", "fd00::5", 8883), ("[::1]", "::1", 1884),
    ("broker.local:8883", "broker.local", 8883), ("127.0.0.1:1", "127.0.0.1", 1), ("mqtt-1", "mqtt-1", 1884),
])
def test_broker_takes_bracketed_ipv6_host_port_and_host_alone(value, host, port):
    from assistant.commands.devices import parse_broker

    assert parse_broker(value, default_port=1884) == (host, port)


@pytest.mark.parametrize("value, says", [
    ("[::1]:", "expected HOST:PORT, HOST or [IPv6]:PORT"), ("[::1", "expected HOST:PORT"),
    ("[kitchen]:1883", "expected HOST:PORT"), ("host:0", "expected HOST:PORT"), ("host:65536", "expected HOST:PORT"),
    ("host:", "expected HOST:PORT"), (":1883", "expected HOST:PORT"), ("two words", "expected HOST:PORT"),
    ("mqtt://host:1883", "expected HOST:PORT"), ("", "expected HOST:PORT"),
    ("::1:1883", "put an IPv6 address in brackets, e.g. [::1]:1883"),
])
def test_a_bad_broker_is_one_line_naming_the_flag_and_the_form(capsys, value, says):
    assert main(["devices", "--from-broker", "--broker", value]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: --broker {value!r}: {says}") and len(err.splitlines()) == 1


@pytest.mark.parametrize("command", [["devices"], ["intent", "turn on the kitchen light"]])
def test_a_missing_config_folder_is_named_with_the_fix(tmp_path, capsys, command):
    folder = tmp_path / "no-such-config"
    assert main([*command, "--config", str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: config folder {folder} does not exist; give --config the folder that holds")
    assert len(err.splitlines()) == 1 and "registry" not in err
    (tmp_path / "file.yaml").write_text("wake: {}\n")
    assert main([*command, "--config", str(tmp_path / "file.yaml")]) == 1
    assert f"config folder {tmp_path / 'file.yaml'} is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["devices", "--from-broker"]])
def test_a_dead_broker_is_one_line_that_does_not_send_people_to_the_demo(capsys, command):
    """The demo brings its own broker and devices: no help to someone driving their own."""
    from assistant.adapters.mosquitto import free_port

    port = free_port()  # nothing listens there
    assert main([*command, "--broker", f"127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    said = [line for line in err if "cannot reach MQTT broker" in line]
    assert said and said[0].endswith("start Mosquitto there (scripts/setup.sh installs it) or pass --broker HOST:PORT")
    assert not any("assistant demo" in line or "Traceback" in line for line in err)


def test_simulate_without_a_broker_suggests_what_fits_simulate(capsys):
    from assistant.adapters.mosquitto import free_port

    port = free_port()  # nothing listens there
    assert main(["simulate", "--broker", f"127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot reach MQTT broker at 127.0.0.1:{port} (") and len(err.splitlines()) == 1
    assert "start Mosquitto there (scripts/setup.sh installs it" in err and "--embedded" in err
    assert "assistant demo" not in err


class _FlushedOnly(io.TextIOBase):
    """A stdout that shows a reader only what was flushed, as a pipe to another program does."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.flushed = ""

    def write(self, text: str) -> int:
        self.pending.append(text)
        return len(text)

    def flush(self) -> None:
        self.flushed += "".join(self.pending)
        self.pending.clear()


@pytest.mark.models
def test_run_realtime_text_output_streams_each_turn_as_it_ends(monkeypatch):
    """multi3: wakes at 1.0, 5.4 and 10.3 s. Each turn's line must be readable before the next wake word's audio
    is even fed, not when the file ends (--realtime's pacing is replaced by a recorder: no waiting)."""
    from assistant.commands import run as run_command

    out = _FlushedOnly()
    seen: list[tuple[int, int]] = []  # (frame end ms, turn lines a reader could see by then)

    def recorded(frames):
        for frame in frames:
            seen.append((frame.end_ms, out.flushed.count(" heard '")))
            yield frame

    monkeypatch.setattr(run_command, "paced", recorded)
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["run", "--realtime", "--dry-run", str(FIXTURES / "turns" / "multi3__joe.wav")]) == 0
    assert [n for ms, n in seen if ms in (80, 5360, 10240)] == [0, 1, 2]
    out.flush()
    assert out.flushed.count(" heard '") == 3 and out.flushed.rstrip().endswith("3 turn(s)")


@pytest.mark.models
def test_the_demo_runs_its_six_turns_and_the_blinds_arrive(capsys):
    """The README's main command, end to end: its own broker, simulated devices, the bundled recording."""
    from assistant.adapters.mosquitto import find_binary

    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    # where to point mosquitto_sub or Home Assistant comes first; with the binary there it is a Mosquitto
    kind = "mosquitto" if find_binary() else "amqtt"
    assert out.startswith(f"MQTT broker ({kind}) on 127.0.0.1:")
    assert "\n6 turn(s). Device states before -> after:" in out
    assert "not understood" not in out and "timeout" not in out
    rows = [line[3:].split("  ", 1) for line in out.split("before -> after:\n")[1].splitlines() if "  ->  " in line]
    after = {name: rest.rsplit("  ->  ", 1)[1] for name, rest in rows}
    assert after["blinds"] == "state=CLOSE position=0"
    assert after["coffee maker"] == "state=ON" and after["air purifier"].startswith("fan_mode=auto")
    assert after["kitchen light"].startswith("state=OFF") and after["living room lamp"].startswith("state=ON")


def test_demo_refuses_no_simulator_without_a_broker(capsys):
    """Without --broker the demo's own broker holds no real device: every turn would time out."""
    assert main(["demo", "--no-simulator"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --no-simulator needs --broker HOST:PORT")


@pytest.mark.models
def test_demo_exits_1_when_a_device_change_did_not_happen(mosquitto, tmp_path, capsys):
    """As `run` does: the bridge on the broker answers, but the kitchen light is unreachable."""
    import shutil
    import uuid

    from assistant.config import MqttSettings
    from assistant.devices.registry import load_registry
    from assistant.sim.runner import Simulator

    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    base = f"z2m_test_{uuid.uuid4().hex[:10]}"  # retained messages of other tests stay out of this one
    for name in ("assistant.yaml", "devices.yaml"):
        text = (config / name).read_text()
        (config / name).write_text(text.replace("base_topic: zigbee2mqtt", f"base_topic: {base}"))
    mqtt = MqttSettings(host=mosquitto.host, port=mosquitto.port, base_topic=base)
    simulator = Simulator(load_registry(config), mqtt, unreachable=["kitchen_light"]).start_thread()
    try:
        code = main(["demo", str(GOOD_WAV), "--config", str(config), "--no-simulator",
                     "--broker", f"{mosquitto.host}:{mosquitto.port}"])
    finally:
        simulator.stop()
    out, err = capsys.readouterr()
    assert "kitchen light: unreachable" in out
    assert code == 1 and "1 device change(s) or answer(s) did not happen" in err
