"""`assistant demo`: the whole product in one command — its own broker (a private Mosquitto), simulated IKEA
devices, and the voice loop over a bundled recording of spoken commands (or the microphone with --mic)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from . import settings_from, stop_on_sigterm
from .devices import add_broker_args, broker_settings
from ..audio import WavSource
from ..errors import BrokerError

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "demo.wav"
# A FYRTUR takes 33 s from open to closed; the demo's blinds move 8x faster, so the states printed at the
# end show where the blinds were sent instead of a blind three percent of its way there.
DEMO_BLIND_PERCENT_PER_S = 25.0
ARRIVAL_WAIT_S = 6.0


def register(sub, common) -> None:
    p = sub.add_parser("demo", parents=[common], help="own broker + simulated devices + the voice loop",
                       epilog="Exit status 1 when a device change or answer did not happen (unreachable, refused, "
                              "unconfirmed, failed); 'not understood' is not an error. Exit status 2 when "
                              "the broker cannot be reached at the start.")
    p.add_argument("file", nargs="?", default=str(SAMPLE), metavar="FILE", help="WAV to replay (default: bundled)")
    p.add_argument("--mic", action="store_true", help="listen to the microphone instead of the bundled WAV")
    p.add_argument("--input", metavar="N|NAME", help="microphone to use with --mic")
    p.add_argument("--json", action="store_true", help="JSON-lines events instead of readable lines")
    p.add_argument("--no-simulator", action="store_true", help="with --broker: drive real devices, simulate none")
    add_broker_args(p, "use this MQTT broker instead of the demo's own (default: a private Mosquitto on "
                       "127.0.0.1, a free port, stopped with the demo; the settings' broker is not used)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..app import build
    from ..present import state_text, turn_line

    if args.no_simulator and args.broker is None:
        # the demo's own broker reaches no real device: every turn would time out
        print("error: --no-simulator needs --broker HOST:PORT, the broker your devices are on (the demo's own "
              "broker has only the simulated ones); add --broker or leave out --no-simulator", file=sys.stderr)
        return 2
    settings = settings_from(args)
    broker = simulator = assistant = None
    stop_on_sigterm()
    out = sys.stdout
    try:
        if args.broker is not None:
            mqtt = broker_settings(args, settings)
        else:
            from ..app import broker_hint, start_own_broker

            broker = start_own_broker(say=lambda line: print(line, file=sys.stderr, flush=True))
            mqtt = dataclasses.replace(settings.mqtt, host=broker.host, port=broker.port)
            print(broker_hint(broker), file=out, flush=True)
        try:  # a broker missing now (--broker) is a setting to fix, not an outage to wait out
            registry = None
            if not args.no_simulator:
                from ..devices.registry import load_registry
                from ..sim.runner import Simulator

                registry = load_registry(settings.config_dir)
                simulator = Simulator(registry, mqtt, travel_percent_per_s=DEMO_BLIND_PERCENT_PER_S).start_thread()
                print(f"simulated IKEA devices: {', '.join(d.spoken for d in registry.devices.values())}", file=out)
            assistant = build(settings, mqtt, say=lambda s: print(s, file=out), broker_required=True)
        except BrokerError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        registry = assistant.registry
        before = assistant.dispatcher.device_states()
        emit = (lambda e: print(json.dumps(e), flush=True)) if args.json else (lambda e: None)
        show = (lambda t: None) if args.json else (lambda t: print("  " + turn_line(registry, t), flush=True))
        if args.mic:
            from ..adapters.microphone import MicSource

            print("listening: say 'hey jarvis' then a command (Ctrl+C to stop)", file=out, flush=True)
            frames, label = MicSource(args.input), "microphone"
        else:
            source = WavSource(args.file)
            frames, label = iter(source), args.file
            print(f"replaying {label} ({source.duration_s:.1f} s)", file=out, flush=True)
        turns = undone = 0
        for turn in assistant.pipeline(emit, source=label, on_turn=show).stream(frames):
            turns += 1
            undone += sum(o.outcome.missed for o in turn.outcomes)
        if simulator is not None:
            _await_blinds(simulator, assistant.dispatcher, None if args.json else out)
        after = assistant.dispatcher.device_states()
        if not args.json:
            print(f"\n{turns} turn(s). Device states before -> after:", file=out)
            for name, device in registry.devices.items():
                mark = "*" if before.get(name) != after.get(name) else " "
                print(f" {mark} {device.spoken:18} {state_text(before.get(name, {}))}  ->  "
                      f"{state_text(after.get(name, {}))}", file=out)
        if undone:
            print(f"{undone} device change(s) or answer(s) did not happen", file=sys.stderr)
        return 1 if undone else 0
    finally:
        if assistant is not None:
            assistant.close()
        if simulator is not None:
            simulator.stop(clean=True)
        if broker is not None:
            broker.stop()


def _await_blinds(simulator, dispatcher, out) -> None:
    """Let blinds still on their way arrive (and say so) before the final states are read."""
    import time

    targets = {name: travel.target for name, travel in dict(simulator.bridge.travels).items()}
    if not targets:
        return
    if out is not None:
        print(f"waiting for the blinds to arrive (they move {DEMO_BLIND_PERCENT_PER_S:g} % a second here, "
              "a real FYRTUR about 3)", file=out, flush=True)
    deadline = time.monotonic() + ARRIVAL_WAIT_S
    while time.monotonic() < deadline:
        states = dispatcher.device_states()
        if all(states.get(name, {}).get("position") == target for name, target in targets.items()):
            return
        time.sleep(0.1)
