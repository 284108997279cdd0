#!/usr/bin/env python3
"""One hub, N satellites: the hub's CPU per command and end of speech -> publish as N grows, and what a
satellite costs while it only listens.

The hub (`assistant hub`), the simulated bridge (`assistant simulate`) and a private Mosquitto run as
processes of their own; the satellites are simulated here as Wyoming clients (the `wyoming` library)
that replay what a real satellite sends, at the moments it would send it: for each command clip, the real
satellite's hearing (hearing.Ears: the wake word model, VAD and listener) is run once beforehand, giving
the wake word, each pause in the speech (the audio so far and voice-stopped: the hub decodes early) and
the end of the command (the rest and audio-stop). N satellites each say `--commands` commands, at random
moments (seeded); wake de-duplication is off (--window-ms 0), as these are N rooms, not one utterance.

end of speech -> publish: from the moment the speaker's last speech frame ended (the stream's start
plus the listener's speech end, wall clock) to the moment the bench, subscribed to the devices' set
topics on the same broker, receives the publish. It includes the satellite's hangover, the network,
the hub's queue, decoding, matching and the publish.

    .venv/bin/python scripts/bench_hub.py                     # N = 1, 4, 16; idle cost
    .venv/bin/python scripts/bench_hub.py --n 1 4 8 16 --commands 3 --engine grammar
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.adapters.mosquitto import PrivateMosquitto, find_binary, free_port
from assistant.audio import WavSource, frames
from assistant.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
TURNS = ROOT / "tests" / "fixtures" / "turns"
# clips whose command publishes to one device every time it is said (relative changes, never a no-op)
CLIPS = {"dim_the_desk_lamp__joe.wav": "desk_lamp", "make_the_desk_lamp_brighter__heart.wav": "desk_lamp",
         "make_the_desk_lamp_cooler__joe.wav": "desk_lamp",
         "dim_the_living_room_lamp_by_twenty_percent__heart.wav": "living_room_lamp",
         "set_the_kitchen_light_to_fifty_percent__joe.wav": "kitchen_light",
         "set_the_bedroom_light_to_red__heart.wav": "bedroom_light"}
CHUNK = 2048 * 2


@dataclass
class Script:
    """What a satellite sends for one clip, at audio times (ms from the clip's start)."""

    clip: str
    device: str
    wake_ms: int
    score: float
    snr_db: float | None
    start_ms: int  # the command stream's first sample
    pauses: list  # (at_ms, pcm so far, speech end ms into the stream)
    end_ms: int
    pcm: bytes
    speech_end_ms: int  # into the stream


def scripts_for(settings) -> list[Script]:
    """Each clip through the real hearing of a satellite, unpaced: what it would send, and when."""
    from assistant.adapters.openwakeword import OpenWakeWordScorer, resolve_wake_words
    from assistant.adapters.silero_vad import SileroVad
    from assistant.hearing import Ears
    from assistant.listener import Listener
    from assistant.messages import SpeechPaused, Utterance
    from assistant.wake import WakePolicy

    scorer = OpenWakeWordScorer(resolve_wake_words(settings.wake.wake_words, settings.models_dir),
                                settings.models_dir, settings.wake.warmup_ms)
    vad = SileroVad(settings.models_dir)
    out = []
    for clip, device in CLIPS.items():
        policy = WakePolicy(settings.wake)
        policy.reset(-scorer.reset())
        ears = Ears(scorer, policy, Listener(settings.listener, vad))
        wake, pauses = None, []
        for frame in WavSource(TURNS / clip):
            woke, heard = ears.hear(frame)
            wake = woke or wake
            if isinstance(heard, SpeechPaused):
                pauses.append((heard.end_ms, heard.pcm, heard.speech_end_ms - heard.start_ms, heard.start_ms))
            elif isinstance(heard, Utterance):
                pauses = [(at, pcm, se) for at, pcm, se, start in pauses if start == heard.start_ms]
                out.append(Script(clip, device, wake.time_ms, wake.score, wake.snr_db, heard.start_ms, pauses,
                                  heard.end_ms, heard.pcm, heard.speech_end_ms - heard.start_ms))
                break
        else:
            raise SystemExit(f"{clip}: no command heard; the bench needs clips the listener hears")
    return out


async def satellite(name: str, port: int, plan: list[tuple[float, Script]], said: list, answers: list) -> None:
    """One simulated satellite: says who it is, then at each (wall start, script) sends what a real one would."""
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient
    from wyoming.info import Attribution, Info, Satellite
    from wyoming.vad import VoiceStopped
    from wyoming.wake import Detection

    shape = dict(rate=16000, width=2, channels=1)
    async with AsyncTcpClient("127.0.0.1", port) as client:
        who = Satellite(name=name, area="kitchen", attribution=Attribution(name="bench", url=""), installed=True,
                        description=None, version=None, has_vad=True)
        await client.write_event(Info(satellite=who).event())
        await client.read_event()  # run-satellite
        reader = asyncio.create_task(_answers(client, answers, name))
        loop = asyncio.get_running_loop()

        async def at(t0: float, ms: int) -> None:
            delay = t0 + ms / 1000 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)

        for t0, s in plan:
            await at(t0, s.wake_ms)
            await client.write_event(Detection(name="hey_jarvis", timestamp=s.wake_ms,
                                               context={"score": s.score, "snr_db": s.snr_db}).event())
            sent = 0
            await client.write_event(AudioStart(timestamp=0, **shape).event())
            for at_ms, pcm, speech_end in s.pauses:
                await at(t0, at_ms)
                for i in range(sent, len(pcm), CHUNK):
                    await client.write_event(AudioChunk(audio=pcm[i:i + CHUNK], **shape).event())
                sent = len(pcm)
                await client.write_event(VoiceStopped(timestamp=speech_end).event())
            await at(t0, s.end_ms)
            for i in range(sent, len(s.pcm), CHUNK):
                await client.write_event(AudioChunk(audio=s.pcm[i:i + CHUNK], **shape).event())
            await client.write_event(AudioStop(timestamp=s.speech_end_ms).event())
            said.append((t0 + (s.start_ms + s.speech_end_ms) / 1000, s.device, name))
        deadline = loop.time() + 30  # the last answers: a busy hub's queue
        while sum(a[0] == name for a in answers) < len(plan) and loop.time() < deadline:
            await asyncio.sleep(0.1)
        reader.cancel()


async def _answers(client, answers: list, name: str) -> None:
    while True:
        event = await client.read_event()
        if event is None:
            return
        if event.type in ("handled", "not-handled", "not-detected", "error"):
            answers.append((name, event.type, (event.data or {}).get("text") or (event.data or {}).get("context")))


class SetWatcher:
    """Subscribed to every device's set topic: when each publish arrived (monotonic time, as loop.time())."""

    def __init__(self, port: int, base: str):
        import paho.mqtt.client as mqtt

        self.seen: list[tuple[float, str]] = []
        self.hub_figures: list[float] = []  # the hub pipeline's own speech end -> publish (no queue, no network)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-hub-{os.getpid()}")
        ready = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: (c.subscribe([(f"{base}/+/set", 1), ("assistant/+/result", 0)]),
                                                          ready.set())
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        ready.wait(5)

    def _message(self, client, userdata, message) -> None:
        if message.topic.startswith("assistant/"):
            figure = json.loads(message.payload).get("timings_ms", {}).get("speech_end_to_publish_ms")
            if figure is not None:
                self.hub_figures.append(figure)
        else:
            self.seen.append((time.monotonic(), message.topic.split("/")[-2]))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def cpu_s(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_port(port: int, timeout_s: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on {port} after {timeout_s} s")


def one_round(n: int, commands: int, scripts: list[Script], hub_port: int, watcher: SetWatcher, hub_pid: int,
              rng: random.Random, spread_s: float) -> dict:
    said: list = []
    answers: list = []
    seen_before, figures_before = len(watcher.seen), len(watcher.hub_figures)

    async def run_all():
        t_start = asyncio.get_running_loop().time() + 0.5
        plans = []
        for i in range(n):
            t, plan = t_start + rng.uniform(0, spread_s), []
            for _ in range(commands):
                s = rng.choice(scripts)
                plan.append((t, s))
                t += s.end_ms / 1000 + rng.uniform(1.5, 3.0)  # a satellite's next command after its answer
            plans.append(plan)
        await asyncio.gather(*(satellite(f"sat{n}-{i}", hub_port, plan, said, answers) for i, plan in enumerate(plans)))

    cpu0 = cpu_s(hub_pid)
    asyncio.run(run_all())
    time.sleep(0.5)
    cpu = cpu_s(hub_pid) - cpu0
    publishes = watcher.seen[seen_before:]
    latencies, used = [], set()
    for end, device, _ in sorted(said):
        match = next((k for k, (t, d) in enumerate(publishes) if k not in used and d == device and t >= end), None)
        if match is not None:
            used.add(match)
            latencies.append((publishes[match][0] - end) * 1000)
    done = sum(1 for a in answers if a[1] == "handled")
    other = [a for a in answers if a[1] != "handled"]
    unanswered = len(said) - len(answers)
    q = lambda p: float(np.percentile(latencies, p)) if latencies else float("nan")  # noqa: E731
    own = watcher.hub_figures[figures_before:]
    return {"n": n, "commands": len(said), "handled": done, "other_answers": other[:3], "unanswered": unanswered, "published": len(latencies),
            "hub_pipeline_p50_ms": round(statistics.median(own)) if own else None,
            "hub_cpu_s_per_command": round(cpu / max(1, len(said)), 3),
            "speech_end_to_publish_ms": {"p50": round(q(50)), "p95": round(q(95)), "max": round(max(latencies, default=0))}}


def one_process(settings, mqtt_port: int, rounds: int) -> list[float]:
    """The same clips through the one-process loop (`assistant run`, with the broker), under the same load:
    its speech end -> publish, as bench_loop.py counts it."""
    from assistant.app import build
    from assistant.config import MqttSettings

    assistant = build(settings, MqttSettings(host="127.0.0.1", port=mqtt_port), broker_required=True)
    figures = []
    try:
        for _ in range(rounds):
            for clip in CLIPS:
                for turn in assistant.pipeline(lambda e: None).run(WavSource(TURNS / clip)):
                    if "speech_end_to_publish_ms" in turn.timings_ms:
                        figures.append(turn.timings_ms["speech_end_to_publish_ms"])
    finally:
        assistant.close()
    return figures


def idle_cost(settings, seconds: float) -> float:
    """A satellite that only listens: CPU seconds per audio second (wake word model + VAD + listener) over
    noise and ordinary speech with no wake word, through the satellite loop itself (its hub a stub)."""
    import queue

    from assistant.adapters.openwakeword import OpenWakeWordScorer, resolve_wake_words
    from assistant.adapters.silero_vad import SileroVad
    from assistant.audio import read_wav
    from assistant.hearing import Ears
    from assistant.levels import pink
    from assistant.listener import Listener
    from assistant.satellite import SatelliteLoop
    from assistant.wake import WakePolicy

    class Stub:
        answers: queue.Queue = queue.Queue()
        send_wake = send_pause = send_command = staticmethod(lambda x: True)

    speech = [read_wav(p) for p in sorted((ROOT / "tests" / "fixtures" / "speech").glob("*.wav"))[:12]]
    rng = np.random.default_rng(0)
    parts, total = [], 0
    while total < seconds * 16000:
        clip = speech[len(parts) % len(speech)].astype(np.float64)
        noise = pink(len(clip) + 16000, rng) * 300
        parts.append(np.clip(np.concatenate([np.zeros(16000), clip]) + noise, -32768, 32767).astype(np.int16))
        total += len(parts[-1])
    audio = np.concatenate(parts)
    scorer = OpenWakeWordScorer(resolve_wake_words(settings.wake.wake_words, settings.models_dir),
                                settings.models_dir, settings.wake.warmup_ms)
    policy = WakePolicy(settings.wake)
    policy.reset(-scorer.reset())
    loop = SatelliteLoop(Ears(scorer, policy, Listener(settings.listener, SileroVad(settings.models_dir))), Stub())
    cpu0 = time.process_time()
    loop.run(frames(audio))
    return (time.process_time() - cpu0) / (len(audio) / 16000)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1, 4, 16], help="satellite counts (default 1 4 16)")
    ap.add_argument("--commands", type=int, default=2, help="commands per satellite per round (default 2)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--spread-s", type=float, default=4.0, help="satellites start within this many s (default 4)")
    ap.add_argument("--engine", default=None, help="the hub's speech engine (default: speech.engine)")
    ap.add_argument("--idle-s", type=float, default=60, help="audio for the idle cost (0: skip it)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    settings = load_settings()
    if args.idle_s:
        print(json.dumps({"satellite_idle_cpu_s_per_audio_s": round(idle_cost(settings, args.idle_s), 4)}), flush=True)
    scripts = scripts_for(settings)
    binary = find_binary()
    if binary is None:
        raise SystemExit("mosquitto is not installed (scripts/setup.sh installs it)")
    broker = PrivateMosquitto(binary)
    host, mqtt_port = broker.start()
    hub_port = free_port()
    base = "zigbee2mqtt"
    cli = [sys.executable, "-m", "assistant"]
    procs = []
    watcher = None
    try:
        procs.append(subprocess.Popen(cli + ["simulate", "--broker", f"{host}:{mqtt_port}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        hub_cmd = cli + ["hub", "--wyoming", f"tcp://127.0.0.1:{hub_port}", "--broker", f"{host}:{mqtt_port}",
                         "--window-ms", "0", "--follow-up-ms", "0"] + (["--engine", args.engine] if args.engine else [])
        hub = subprocess.Popen(hub_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(hub)
        wait_port(hub_port)
        watcher = SetWatcher(mqtt_port, base)
        rng = random.Random(args.seed)
        if args.engine:
            settings = settings.with_overrides(speech={"engine": args.engine})
        alone = one_process(settings, mqtt_port, args.rounds)
        print(json.dumps({"one_process_speech_end_to_publish_ms": {
            "p50": round(float(np.percentile(alone, 50))), "p95": round(float(np.percentile(alone, 95)))}}), flush=True)
        one_round(1, 1, scripts, hub_port, watcher, hub.pid, rng, 0)  # warm-up: first decode loads lazily
        results: dict[int, list] = {}
        for _ in range(args.rounds):
            for n in args.n:
                r = one_round(n, args.commands, scripts, hub_port, watcher, hub.pid, rng, args.spread_s)
                results.setdefault(n, []).append(r)
                print(json.dumps(r), flush=True)
        print(f"{os.cpu_count()} CPUs, engine {args.engine or settings.speech.engine}, load average "
              f"{os.getloadavg()[0]:.1f}; one process (same clips, same load): p50 "
              f"{np.percentile(alone, 50):.0f} ms; medians over {args.rounds} round(s):")
        for n, rs in results.items():
            med = lambda key: statistics.median(r["speech_end_to_publish_ms"][key] for r in rs)  # noqa: E731
            print(f"  N={n:3d}: end of speech -> publish p50 {med('p50'):.0f} ms, p95 {med('p95'):.0f} ms; "
                  f"(the hub's own pipeline figure {statistics.median(r['hub_pipeline_p50_ms'] or 0 for r in rs):.0f} ms); "
                  f"hub CPU {statistics.median(r['hub_cpu_s_per_command'] for r in rs):.3f} s per command; "
                  f"published {sum(r['published'] for r in rs)}/{sum(r['commands'] for r in rs)}")
    finally:
        if watcher is not None:
            watcher.close()
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
