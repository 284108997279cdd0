#!/usr/bin/env python3
"""Voice-loop latency, idle cost and memory, on Mosquitto with the simulated devices.

- end of speech -> MQTT publish: from the labelled end of the spoken command (fixture labels) and from
  the VAD's last speech frame, through the silence hangover, transcription and intent matching, to the
  moment the broker acknowledged the publish (QoS 1). Hangover is audio time; the rest is wall time.
  Decoding starts early_decode_ms into the hangover (early_decode_noisy_ms where a loud steady background
  is suppressed first, which makes decoding slower), so live it overlaps the rest of the hangover: the
  figure is max(hangover, decoding start + decoding) + intent + publish.
- with --snr DB: the same clips with pink noise at that SNR, run twice, clip by clip in turn: as configured,
  and with decoding in a loud background started at early_decode_ms too (as before early_decode_noisy_ms).
- idle listening: CPU seconds per audio second while streaming noise and ordinary speech with no wake word.
- resident memory of the whole loop with PocketSphinx.

    .venv/bin/python scripts/bench_loop.py [--rounds 3] [--snr 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

from assistant.audio import WavSource, frames, read_wav  # noqa: E402
from assistant.config import MqttSettings, load_settings  # noqa: E402
from assistant.evaluate.noise import mix  # noqa: E402

TURNS = ROOT / "tests" / "fixtures" / "turns"


def rss_mb(key: str = "VmRSS:") -> float:
    """Resident memory now (VmHWM: the most it has been)."""
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--snr", type=float, help="pink noise at this SNR over every clip (dB)")
    ap.add_argument("--engine", default=None, help="speech engine (default: speech.engine, auto)")
    ap.add_argument("--early-decode-ms", type=int, default=None, help="listener.early_decode_ms for this run")
    args = ap.parse_args()
    from bench_mqtt import start_mosquitto

    from assistant.app import build
    from assistant.dispatcher import Dispatcher
    from assistant.sim.runner import Simulator

    broker = start_mosquitto(nodelay=False)
    port = broker.port
    try:
        settings = load_settings()
        if args.engine:
            settings = dataclasses.replace(settings, speech=dataclasses.replace(settings.speech, engine=args.engine))
        if args.early_decode_ms is not None:
            settings = dataclasses.replace(settings, listener=dataclasses.replace(
                settings.listener, early_decode_ms=args.early_decode_ms))
        mqtt = MqttSettings(host="127.0.0.1", port=port)
        assistant = build(settings, mqtt)
        labels = [json.loads(line) for line in (TURNS / "labels.jsonl").read_text().splitlines()]
        clips = [c for c in labels if len(c["turns"]) == 1 and c["turns"][0]["kind"] == "command"]
        from_label, from_vad, stt, echo = [], [], [], []
        variants = {"configured": settings}
        if args.snr is not None:
            late = dataclasses.replace(settings.listener, early_decode_noisy_ms=0)
            variants["decoding from early_decode_ms"] = dataclasses.replace(settings, listener=late)
        # per variant, the latency of turns that published in every variant (paired clip by clip)
        noisy_latency: dict[str, list[float]] = {name: [] for name in variants}
        unpaired = 0
        for round_ in range(args.rounds):
            for i, clip in enumerate(clips):
                if args.snr is None:
                    audio = WavSource(TURNS / clip["file"])
                else:
                    audio = list(frames(mix(read_wav(TURNS / clip["file"]), args.snr, i)))
                order = list(variants)[:: -1 if (round_ + i) % 2 else 1]  # neither always runs first
                published = {}
                for name in order:
                    registry = dataclasses.replace(assistant.registry, base_topic=f"bench_{uuid.uuid4().hex[:8]}")
                    sim_settings = dataclasses.replace(mqtt, base_topic=registry.base_topic)
                    simulator = Simulator(registry, sim_settings).start_thread()
                    assistant.dispatcher = Dispatcher(registry, sim_settings, assistant.clock)
                    assistant.settings = variants[name]
                    turns = assistant.pipeline(lambda e: None).run(audio)
                    simulator.stop()
                    published[name] = [t.timings_ms["speech_end_to_publish_ms"] for t in turns
                                       if t.messages and "publish_ms" in t.timings_ms]
                assistant.settings = settings
                if len({len(v) for v in published.values()}) == 1:
                    for name, values in published.items():
                        noisy_latency[name] += values
                else:
                    unpaired += 1
                for turn in turns if args.snr is None else []:
                    t = turn.timings_ms
                    if not turn.messages or "publish_ms" not in t:
                        continue
                    spoken_end_ms = clip["turns"][0]["command_end_s"] * 1000
                    # the pipeline's figure starts at the VAD's last speech frame; shift it to the label
                    from_label.append(turn.utterance.speech_end_ms - spoken_end_ms + t["speech_end_to_publish_ms"])
                    from_vad.append(t["speech_end_to_publish_ms"])
                    stt.append(t["transcribe_ms"])
                    echo.append(t["echo_ms"] - t["publish_ms"])
        rss_loop = rss_mb()

        # idle: noise and chat, no wake word
        quiet = [read_wav(p) for p in sorted((ROOT / "tests" / "fixtures" / "speech").glob("*.wav"))]
        quiet += [read_wav(p) for p in sorted((ROOT / "tests" / "fixtures" / "wake").glob("noise_*.wav"))]
        idle_audio = np.concatenate(quiet * 3)
        pipe = assistant.pipeline(lambda e: None)
        cpu0 = time.process_time()
        turns = pipe.run(frames(idle_audio))
        idle_cpu = (time.process_time() - cpu0) / (len(idle_audio) / 16000)
        rss_idle, rss_peak = rss_mb(), rss_mb("VmHWM:")
        assistant.close()
    finally:
        broker.stop()

    def q(values, p):
        return float(np.percentile(values, p))

    published = len(noisy_latency["configured"])
    print(f"{published} published turns ({args.rounds} rounds of the turn fixtures) on Mosquitto, "
          f"engine {assistant.recognizer.name}, hangover {settings.listener.silence_hangover_ms} ms, {os.cpu_count()} CPUs")
    if args.snr is None:
        print(f"  end of speech (labelled) -> publish acked: median {statistics.median(from_label):.0f} ms, "
              f"p95 {q(from_label, 95):.0f} ms")
        print(f"  last VAD speech frame   -> publish acked: median {statistics.median(from_vad):.0f} ms, "
              f"p95 {q(from_vad, 95):.0f} ms")
        print(f"  transcription: median {statistics.median(stt):.0f} ms; publish -> state echo: median "
              f"{statistics.median(echo):.1f} ms")
    else:
        a, b = (statistics.median(v) for v in noisy_latency.values())
        print(f"  pink noise at {args.snr:g} dB, last VAD speech frame -> publish acked, median: as configured "
              f"{a:.0f} ms; decoding from early_decode_ms {b:.0f} ms; ratio {a / b:.2f} "
              f"(clips where both published alike; {unpaired} clip runs left out)")
    print(f"  idle listening: {idle_cpu:.4f} CPU-s per audio-s over {len(idle_audio) / 16000:.0f} s "
          f"({len(turns)} false wakes)")
    print(f"  resident memory of the loop: {rss_loop:.0f} MB after the turns, {rss_idle:.0f} MB after idle "
          f"listening, {rss_peak:.0f} MB at most")
    return 0


if __name__ == "__main__":
    sys.exit(main())
