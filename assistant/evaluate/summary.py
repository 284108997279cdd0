"""Clip results -> the report: deterministic figures per condition, timings kept apart, and markdown.

`figures` depend only on the audio, the models and the seed, so two runs give identical figures;
everything measured with a clock (latency, CPU, memory) lives under `timings`.
"""

from __future__ import annotations

from typing import Any, Iterable

from .metrics import intents_match, messages_match, percentile, ratio, wer, words
from .runner import ClipResult, ConditionRun

STAGES = ("wake_frame_ms", "vad_frame_ms", "transcribe_ms", "intent_ms", "publish_ms", "echo_ms",
          "speech_end_to_publish_ms")
RELATIVE_KEYS = ("brightness_step", "color_temp_step")


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def relative(result: ClipResult) -> bool:
    """Expects a relative change, whose payload depends on device state (only exact in a dry run)."""
    return any(isinstance(m.payload, dict) and any(k in m.payload for k in RELATIVE_KEYS)
               for m in result.clip.messages)


def mqtt_ok(result: ClipResult) -> bool:
    return messages_match([(m.topic, m.payload) for m in result.clip.messages], result.messages)


def activations(result: ClipResult) -> tuple[bool, int]:
    """(expected wake word detected, number of false activations) for one clip."""
    expected = result.clip.wake_word
    hits = [t for t in result.turns if t.wake_word is not None]
    if expected is None:
        return False, len(hits)
    detected = any(t.wake_word == expected for t in hits)
    return detected, len(hits) - (1 if detected else 0)


def _gap_bucket(result: ClipResult) -> str:
    gap = result.clip.gap_s
    return "0.00-0.30 s" if gap < 0.3 else "0.30-0.45 s" if gap < 0.45 else "0.45 s or more"


def _breakdown(results: list[ClipResult], key) -> dict[str, dict]:
    """MQTT exact match per group of clips (kind, voice, pause after the wake word)."""
    out = {}
    for name in sorted({key(r) for r in results}):
        group = [r for r in results if key(r) == name]
        hits = sum(map(mqtt_ok, group))
        out[name] = {"clips": len(group), "mqtt_exact": hits, "mqtt_exact_rate": _r(ratio(hits, len(group)))}
    return out


def figures(results: list[ClipResult], dry_run: bool = True) -> dict[str, Any]:
    """Accuracy figures for one condition. Without a dry run, clips expecting relative changes are left
    out of the MQTT figures (their payload depends on the live device state) and counted as such."""
    audio_h = sum(r.audio_s for r in results) / 3600
    positives = [r for r in results if r.clip.wake_word]
    detected = sum(activations(r)[0] for r in positives)
    false_activations = sum(activations(r)[1] for r in results)
    delays = [(t.wake_time_s - r.clip.wake_end_s) * 1000 for r in positives for t in r.turns[:1]
              if t.wake_time_s is not None and r.clip.wake_end_s is not None]
    commands = [r for r in results if r.clip.kind == "command"]
    heard = [r for r in commands if activations(r)[0]]
    chat = [r for r in results if r.clip.kind == "non_command"]
    comparable = [r for r in results if dry_run or not relative(r)]
    # Commands that should move something: a query or "never mind" expects no message, which a missed
    # wake word would also "match"; those are judged by the intent figure instead.
    comparable_commands = [r for r in commands if r.clip.messages and (dry_run or not relative(r))]
    per_kind = _breakdown(comparable, lambda r: r.clip.kind)
    per_voice = _breakdown([r for r in comparable_commands if r.clip.voice], lambda r: r.clip.voice)
    per_gap = _breakdown([r for r in comparable_commands if r.clip.gap_s is not None], _gap_bucket)
    transcripts_exact = sum(words(r.transcript) == words(r.clip.transcript) for r in commands)
    intents_exact = sum(intents_match(r.clip.intents, r.intents) for r in commands)
    mqtt_commands = sum(map(mqtt_ok, comparable_commands))
    rejected = sum(not r.intents for r in chat if activations(r)[0])
    chat_heard = sum(activations(r)[0] for r in chat)
    false_rejections = sum(not r.intents for r in heard)
    # The outcome that surprises people most: something moved, but not what was asked (or nothing was).
    wrong_actions = sum(bool(r.messages) and not mqtt_ok(r) for r in comparable)
    return {
        "clips": len(results), "audio_hours": _r(audio_h, 5),
        "wake": {"positives": len(positives), "detected": detected, "recall": _r(ratio(detected, len(positives))),
                 "false_activations": false_activations,
                 "false_activations_per_hour": _r(false_activations / audio_h if audio_h else None, 2),
                 "detection_delay_ms_p50": _r(percentile(delays, 50), 1),
                 "detection_delay_ms_p95": _r(percentile(delays, 95), 1)},
        "transcript": {"commands": len(commands), "exact": transcripts_exact,
                       "exact_rate": _r(ratio(transcripts_exact, len(commands))),
                       "wer": _r(wer((r.clip.transcript, r.transcript) for r in commands))},
        "intent": {"commands": len(commands), "exact": intents_exact,
                   "exact_rate": _r(ratio(intents_exact, len(commands)))},
        "mqtt": {"commands": len(comparable_commands), "exact": mqtt_commands,
                 "exact_rate": _r(ratio(mqtt_commands, len(comparable_commands))),
                 "all_clips": len(comparable), "all_exact": sum(map(mqtt_ok, comparable)),
                 "all_exact_rate": _r(ratio(sum(map(mqtt_ok, comparable)), len(comparable))),
                 "wrong_actions": wrong_actions, "wrong_action_rate": _r(ratio(wrong_actions, len(comparable))),
                 "left_out_relative": len(results) - len(comparable), "per_kind": per_kind,
                 "commands_per_voice": per_voice, "commands_per_gap_after_wake": per_gap},
        "rejection": {"non_commands_heard": chat_heard, "rejected": rejected,
                      "rejection_rate": _r(ratio(rejected, chat_heard)),
                      "commands_heard": len(heard), "false_rejections": false_rejections,
                      "false_rejection_rate": _r(ratio(false_rejections, len(heard)))},
    }


def stage_samples(run: ConditionRun) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"wake_frame_ms": run.wake_frame_ms, "vad_frame_ms": run.vad_frame_ms}
    for stage in STAGES[2:]:
        out[stage] = [t.timings_ms[stage] for r in run.results for t in r.turns if stage in t.timings_ms]
    return out


def timings(run: ConditionRun) -> dict[str, Any]:
    latency = {stage: {"n": len(v), "p50": _r(percentile(v, 50), 3), "p95": _r(percentile(v, 95), 3)}
               for stage, v in stage_samples(run).items()}
    return {"latency_ms": latency, "cpu_s": _r(run.cpu_s, 2), "wall_s": _r(run.wall_s, 2),
            "cpu_s_per_audio_s": _r(run.cpu_s / run.audio_s if run.audio_s else None)}


def skipped(runs: Iterable[ConditionRun]) -> list[dict[str, str]]:
    """Each clip that could not be read, once (every condition skips it alike), in clip order."""
    seen: dict[str, str] = {}
    for run in runs:
        for clip in run.skipped:
            seen.setdefault(clip.file, clip.error)
    return [{"file": file, "error": error} for file, error in seen.items()]


def report(runs: Iterable[ConditionRun], meta: dict[str, Any]) -> dict[str, Any]:
    runs = list(runs)
    dry = bool(meta.get("dry_run", True))
    return {"dataset": meta.get("dataset"), "mode": "dry run" if dry else f"broker {meta.get('broker')}",
            "engine": meta.get("engine"), "threshold": meta.get("threshold"),
            "noisy_threshold": meta.get("noisy_threshold"),
            "conditions": [{"condition": r.condition.name, "snr_db": r.condition.snr_db, "noise": r.condition.noise,
                            "seed": r.condition.seed,
                            "figures": {**figures(r.results, dry), "skipped_clips": len(r.skipped)},
                            "timings": timings(r)}
                           for r in runs],
            "skipped_clips": skipped(runs),
            "timings": {"load_s": meta.get("load_s"), "wall_s": meta.get("wall_s"),
                        "peak_rss_mb": meta.get("peak_rss_mb"), "jobs": meta.get("jobs"), "cpus": meta.get("cpus")}}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


def _n(value: Any, unit: str = "") -> str:
    return "n/a" if value is None else f"{value}{unit}"


def markdown(rep: dict[str, Any], plots: Iterable[str] = ()) -> str:
    conds = rep["conditions"]
    head = "| | " + " | ".join(c["condition"] for c in conds) + " |\n|---|" + "---|" * len(conds) + "\n"

    def line(label: str, get) -> str:
        return f"| {label} | " + " | ".join(get(c["figures"], c["timings"]) for c in conds) + " |\n"

    rows = [
        line("clips / audio", lambda f, t: f"{f['clips']} / {f['audio_hours'] * 60:.1f} min"
             + (f", {f['skipped_clips']} skipped" if f.get("skipped_clips") else "")),
        line("wake recall", lambda f, t: f"{_pct(f['wake']['recall'])} ({f['wake']['detected']}/{f['wake']['positives']})"),
        line("false activations (per hour)", lambda f, t: f"{f['wake']['false_activations']} "
             f"({_n(f['wake']['false_activations_per_hour'])})"),
        line("detection delay p50 / p95", lambda f, t: f"{_n(f['wake']['detection_delay_ms_p50'], ' ms')} / "
             f"{_n(f['wake']['detection_delay_ms_p95'], ' ms')}"),
        line("transcript exact", lambda f, t: f"{_pct(f['transcript']['exact_rate'])} ({f['transcript']['exact']}/{f['transcript']['commands']})"),
        line("WER", lambda f, t: _pct(f["transcript"]["wer"])),
        line("intent + slots exact", lambda f, t: f"{_pct(f['intent']['exact_rate'])} ({f['intent']['exact']}/{f['intent']['commands']})"),
        line("**MQTT exact, commands that publish (end to end)**", lambda f, t: f"**{_pct(f['mqtt']['exact_rate'])}** "
             f"({f['mqtt']['exact']}/{f['mqtt']['commands']})"),
        line("MQTT exact, all clips", lambda f, t: f"{_pct(f['mqtt']['all_exact_rate'])} ({f['mqtt']['all_exact']}/{f['mqtt']['all_clips']})"),
        line("wrong actions (published, not what was said)", lambda f, t: f"{_pct(f['mqtt']['wrong_action_rate'])} "
             f"({f['mqtt']['wrong_actions']}/{f['mqtt']['all_clips']})"),
        line("non-commands rejected", lambda f, t: f"{_pct(f['rejection']['rejection_rate'])} "
             f"({f['rejection']['rejected']}/{f['rejection']['non_commands_heard']})"),
        line("commands falsely rejected", lambda f, t: f"{_pct(f['rejection']['false_rejection_rate'])} "
             f"({f['rejection']['false_rejections']}/{f['rejection']['commands_heard']})"),
        line("CPU per audio second", lambda f, t: _n(t["cpu_s_per_audio_s"], " s")),
    ]
    for stage in STAGES:
        rows.append(line(f"{stage} p50 / p95", lambda f, t, s=stage: f"{_n(t['latency_ms'][s]['p50'])} / "
                         f"{_n(t['latency_ms'][s]['p95'])}"))
    left_out = conds[0]["figures"]["mqtt"]["left_out_relative"] if conds else 0
    notes = [f"Dataset `{rep['dataset']}`, {rep['mode']}, speech engine {rep['engine']}, wake threshold {rep['threshold']}"
             + (f" (down to {rep['noisy_threshold']} in a loud background)"
                if rep.get("noisy_threshold") not in (None, rep["threshold"]) else "") + ".",
             f"Models loaded in {_n(rep['timings']['load_s'], ' s')}; whole run {_n(rep['timings']['wall_s'], ' s')}; "
             f"peak RSS {_n(rep['timings']['peak_rss_mb'], ' MB')} per process; {_n(rep['timings'].get('jobs'))} "
             f"worker(s) on {_n(rep['timings'].get('cpus'))} CPUs (parallel workers inflate the latencies).",
             "MQTT exact for commands counts the commands that should publish something (queries and "
             "'never mind' publish nothing and are judged by the intent figure).",
             "False activations are counted over all audio streamed (wake words beyond the expected one count too).",
             "Latencies are wall-clock milliseconds per call (wake and VAD per 80 ms frame, the rest per turn)."]
    unreadable = rep.get("skipped_clips") or []
    if unreadable:
        count = f"{len(unreadable)} clip{'s' if len(unreadable) > 1 else ''}"
        notes.insert(0, f"**{count} skipped**, unreadable and left out of every figure: "
                     + "; ".join(f"`{s['file']}` ({s['error']})" for s in unreadable) + ".")
    if left_out:
        notes.append(f"{left_out} clips expecting relative changes are left out of the MQTT figures: against a "
                     "live broker their payload depends on the device state.")
    out = "# Evaluation report\n\n" + "\n".join(f"- {n}" for n in notes) + "\n\n" + head + "".join(rows)
    for key, title in (("per_kind", "all clips by kind"), ("commands_per_voice", "commands by voice"),
                       ("commands_per_gap_after_wake", "commands by pause between wake word and command")):
        groups = sorted({k for c in conds for k in c["figures"]["mqtt"][key]})
        if not groups:
            continue
        out += f"\n## MQTT exact, {title}\n\n" + head
        for group in groups:
            out += line(group, lambda f, t, k=group, s=key: (
                lambda p: f"{_pct(p['mqtt_exact_rate'])} ({p['mqtt_exact']}/{p['clips']})")(
                f["mqtt"][s].get(k, {"mqtt_exact_rate": None, "mqtt_exact": 0, "clips": 0})))
    plots = list(plots)
    if plots:
        out += "\n## Plots\n\n" + "".join(f"![{p}]({p})\n\n" for p in plots)
    return out
