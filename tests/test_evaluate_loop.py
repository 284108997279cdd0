"""`assistant evaluate` end to end on four clips of the committed set, with the real models: report
structure, sane figures, plots on disk, identical figures on a second run, one-line errors."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from assistant.cli import main

EVAL = Path(__file__).resolve().parent.parent / "eval"
PICK = ("cmd01_switch_on_the_desk_light__joe-fast.wav", "chat01__heart-fast.wav", "wakeonly01__heart-gb-fast.wav",
        "nowake01_switch_on_the_desk_light__espeak-en-gb-x-rp-180.wav")


@pytest.fixture(scope="module")
def subset(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("subset")
    rows = {json.loads(line)["file"]: line for line in (EVAL / "labels.jsonl").read_text().splitlines()}
    for name in PICK:
        shutil.copy(EVAL / name, folder / name)
    (folder / "labels.jsonl").write_text("".join(rows[name] + "\n" for name in PICK))
    return folder


@pytest.fixture(scope="module")
def reports(subset, tmp_path_factory):
    """Two runs of the same subset, clean and 10 dB, the first also writing a report folder."""
    out = tmp_path_factory.mktemp("report")
    runs = []
    for extra in (["--report", str(out)], []):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main(["evaluate", str(subset), "--snr", "clean,10", "--seed", "3", "--json", *extra]) == 0
        runs.append(json.loads(buffer.getvalue()))
    return runs, out


def test_report_structure_and_sane_figures(reports):
    first = reports[0][0]
    assert first["mode"] == "dry run"
    assert [c["condition"] for c in first["conditions"]] == ["clean", "10 dB"]
    clean = first["conditions"][0]
    f, t = clean["figures"], clean["timings"]
    assert f["clips"] == 4
    assert f["wake"]["positives"] == 3  # command, chat, wake-only
    assert 0 <= f["wake"]["recall"] <= 1 and f["wake"]["detected"] <= 3
    assert f["audio_hours"] * 3600 == pytest.approx(sum(
        (EVAL / n).stat().st_size - 44 for n in PICK) / 32000, abs=0.01)
    assert f["transcript"]["commands"] == f["intent"]["commands"] == 1
    assert f["transcript"]["wer"] is None or f["transcript"]["wer"] >= 0
    assert f["mqtt"]["all_clips"] == 4 and 0 <= f["mqtt"]["all_exact"] <= 4
    assert set(f["mqtt"]["per_kind"]) == {"command", "non_command", "wake_only", "no_wake"}
    # The clean command is easy: the wake word is heard and the right message goes out.
    assert f["wake"]["detected"] >= 1 and f["mqtt"]["exact"] == 1
    for stage in ("wake_frame_ms", "vad_frame_ms", "transcribe_ms"):
        assert t["latency_ms"][stage]["n"] > 0
        assert 0 < t["latency_ms"][stage]["p50"] <= t["latency_ms"][stage]["p95"]
    assert 0 < t["cpu_s_per_audio_s"] < 2
    assert first["timings"]["peak_rss_mb"] > 50


def test_second_run_gives_identical_figures(reports):
    first, second = reports[0]
    assert [c["figures"] for c in first["conditions"]] == [c["figures"] for c in second["conditions"]]


def test_report_folder_holds_markdown_plots_and_clips(reports):
    first, _ = reports[0]
    folder = reports[1]
    for name in ("wake_scores.png", "latency.png", "accuracy_vs_snr.png"):
        data = (folder / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    md = (folder / "report.md").read_text()
    assert "MQTT exact, commands that publish" in md and "![wake_scores.png](wake_scores.png)" in md
    clips = [json.loads(line) for line in (folder / "clips.jsonl").read_text().splitlines()]
    assert len(clips) == 8 and {c["condition"] for c in clips} == {"clean", "10 dB"}
    assert json.loads((folder / "report.json").read_text())["conditions"][0]["figures"] == \
        first["conditions"][0]["figures"]


@pytest.mark.parametrize("argv, says", [
    (["evaluate", "/nonexistent/set"], "not a folder"),
    (["evaluate", str(EVAL), "--snr", "loud"], "--snr 'loud': expected a number"),
    (["evaluate", str(EVAL), "--noise", "/nonexistent.wav", "--snr", "5"], "--noise /nonexistent.wav: no such file"),
])
def test_bad_arguments_are_one_line_errors(capsys, argv, says):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1


def test_against_a_broker_the_simulated_home_answers(subset, mosquitto, tmp_path):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["evaluate", str(subset), "--snr", "clean", "--json", "--report", str(tmp_path),
                     "--broker", f"{mosquitto.host}:{mosquitto.port}"]) == 0
    rep = json.loads(buffer.getvalue())
    assert rep["mode"] == f"broker {mosquitto.host}:{mosquitto.port}"
    f = rep["conditions"][0]["figures"]
    assert f["mqtt"]["exact"] == 1 and f["mqtt"]["left_out_relative"] == 0
    command = json.loads((tmp_path / "clips.jsonl").read_text().splitlines()[0])
    assert command["turns"][0]["messages"] == [{"topic": "zigbee2mqtt/desk_lamp/set", "payload": '{"state":"ON"}'}]
    assert rep["conditions"][0]["timings"]["latency_ms"]["echo_ms"]["n"] >= 1


def test_a_broken_clip_is_skipped_counted_and_the_report_still_written(tmp_path, capsys):
    """A 0-byte WAV used to abort the whole run with no report; now it is one stderr line, a count in the
    report, and exit status 1 once everything else was measured."""
    dataset, out = tmp_path / "set", tmp_path / "report"
    dataset.mkdir()
    good = "turn_on_the_kitchen_light__joe.wav"
    shutil.copy(Path(__file__).resolve().parent / "fixtures" / "turns" / good, dataset / good)
    (dataset / "broken.wav").write_bytes(b"")
    command = {"kind": "command", "wake_word": "hey_jarvis", "transcript": "turn on the kitchen light",
               "intents": [{"name": "HassTurnOn", "slots": {"name": "kitchen_light"}}],
               "messages": [{"topic": "zigbee2mqtt/kitchen_light/set", "payload": {"state": "ON"}}]}
    (dataset / "labels.jsonl").write_text("".join(json.dumps({"file": name, **command}) + "\n"
                                                  for name in ("broken.wav", good)))
    assert main(["evaluate", str(dataset), "--snr", "clean", "--jobs", "1", "--report", str(out), "--json"]) == 1
    captured = capsys.readouterr()
    said = [line for line in captured.err.splitlines() if "broken.wav" in line]
    assert len(said) == 1 and "empty or too short" in said[0] and "skipped" in said[0]
    rep = json.loads(captured.out)
    figures = rep["conditions"][0]["figures"]
    assert figures["clips"] == 1 and figures["skipped_clips"] == 1 and figures["mqtt"]["exact"] == 1
    assert [s["file"] for s in rep["skipped_clips"]] == ["broken.wav"]
    md = (out / "report.md").read_text()
    assert "**1 clip skipped**" in md and "| clips / audio | 1 / " in md and ", 1 skipped |" in md
    assert len((out / "clips.jsonl").read_text().splitlines()) == 1
