#!/usr/bin/env python3
"""MQTT benchmark: command published -> state echo through the simulated bridge, and a survival run.

    .venv/bin/python scripts/bench_mqtt.py [--broker HOST:PORT] [--commands 300] [--payloads 10000]

Without --broker it starts its own Mosquitto with default settings (127.0.0.1, free port, killed by PID
at the end); --tcp-nodelay adds Mosquitto's set_tcp_nodelay. The client sets TCP_NODELAY and
TCP_QUICKACK itself, so a default broker does not add Nagle + delayed-ACK stalls (~44 ms) to the echo.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import json
import os
import random
import statistics
import sys
import time
import uuid


from assistant.adapters.mqtt import MqttClient  # noqa: E402
from assistant.config import DEFAULT_CONFIG_DIR, MqttSettings  # noqa: E402
from assistant.devices.registry import load_registry  # noqa: E402
from assistant.dispatcher import Dispatcher  # noqa: E402
from assistant.errors import BrokerError  # noqa: E402
from assistant.messages import Intent, MqttMessage, Outcome  # noqa: E402
from assistant.sim.devices import state_problems  # noqa: E402
from assistant.sim.runner import Simulator  # noqa: E402


def start_mosquitto(nodelay: bool):
    """A private Mosquitto for the benchmark (assistant.adapters.mosquitto, the starter the demo and the
    tests use): .port, .stop() kills it and removes its folder."""
    from assistant.adapters import mosquitto

    binary = mosquitto.find_binary()
    if binary is None:
        raise SystemExit("mosquitto not found: install the Debian package 'mosquitto' (scripts/setup.sh does)")
    lines = ("allow_anonymous true",) + (("set_tcp_nodelay true",) if nodelay else ())
    broker = mosquitto.PrivateMosquitto(binary, lines)
    try:
        broker.start()
    except BrokerError as exc:
        raise SystemExit(str(exc)) from None
    atexit.register(broker.stop)  # also on SystemExit from a failed check
    return broker


def echo_latency(dispatcher: Dispatcher, n: int) -> list[float]:
    """Wall time from dispatch() publishing to the state echo, alternating on/off and brightness."""
    intents = [Intent("HassTurnOn", {"name": "kitchen_light"}), Intent("HassTurnOff", {"name": "kitchen_light"}),
               Intent("HassLightSet", {"name": "desk_lamp", "brightness": 30}),
               Intent("HassLightSet", {"name": "desk_lamp", "brightness": 80})]
    times = []
    for i in range(n):
        result = dispatcher.dispatch([intents[i % len(intents)]])
        outcome = result.outcomes[0]
        if outcome.outcome != Outcome.DONE:
            raise SystemExit(f"command {i} not echoed: {outcome}")
        times.append(outcome.echo_ms)
    return times


def random_payload(rng: random.Random) -> str:
    keys = ["state", "brightness", "brightness_step", "color_temp", "color_temp_step", "color", "transition",
            "position", "fan_mode", "fan_state", "scene_recall", "scene_store", "pm25", "nonsense"]
    values = [None, True, 0, -1, 1, 42, 254, 255, 300, 1e308, -0.5, "ON", "OFF", "TOGGLE", "OPEN", "STOP", "auto",
              "3", "", "x" * 50, [], [1, 2], {"x": 0.3, "y": 0.3}, {"hex": "#ff00ff"}, {"hex": 5}, {"x": 9}]
    kind = rng.random()
    if kind < 0.6:
        return json.dumps({rng.choice(keys): rng.choice(values) for _ in range(rng.randint(0, 4))})
    if kind < 0.8:
        return "".join(chr(rng.randint(32, 0x2FF)) for _ in range(rng.randint(0, 30)))
    if kind < 0.9:
        return rng.choice(["ON", "off", "toggle", "[]", "null", "1", '"ON"', "{", "{}" * 3000])
    return json.dumps({"brightness": rng.randint(-10, 300), "state": rng.choice(["ON", "OFF", "on", "MAYBE"])})


def survival(simulator: Simulator, client: MqttClient, base: str, n: int, seed: int) -> dict:
    rng = random.Random(seed)
    registry = simulator.bridge.registry
    targets = list(registry.devices) + list(registry.groups)
    client.subscribe(f"{base}/bridge/logging")
    started = time.perf_counter()
    for _ in range(n):
        client.publish(MqttMessage(f"{base}/{rng.choice(targets)}/set", random_payload(rng)))
    # Wait for the simulator to drain its queue: a final command must come back.
    client.subscribe(f"{base}/coffee_maker")
    client.drain()
    marker = rng.choice(['{"state": "ON"}', '{"state": "OFF"}'])
    client.publish(MqttMessage(f"{base}/coffee_maker/set", marker))
    deadline = time.monotonic() + 30
    alive = False
    while time.monotonic() < deadline and not alive:
        message = client.get(1)
        alive = message is not None and message.topic == f"{base}/coffee_maker"
    elapsed = time.perf_counter() - started
    invalid = {name: state_problems(d.spec, simulator.bridge.states[name]) for name, d in registry.devices.items()}
    return {"payloads": n, "seconds": elapsed, "alive": alive,
            "invalid_states": {k: v for k, v in invalid.items() if v}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", metavar="HOST:PORT")
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--payloads", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tcp-nodelay", action="store_true", help="own Mosquitto with set_tcp_nodelay true")
    args = parser.parse_args()
    proc = None
    if args.broker:
        from assistant.commands.devices import parse_broker  # [::1]:1883 too, and a clear line for garbage
        from assistant.errors import ConfigError

        try:
            host, port = parse_broker(args.broker, 1883)
        except ConfigError as exc:
            raise SystemExit(str(exc)) from None
        settings = MqttSettings(host=host, port=port)
    else:
        proc = start_mosquitto(nodelay=args.tcp_nodelay)
        settings = MqttSettings(host="127.0.0.1", port=proc.port)
    registry = dataclasses.replace(load_registry(DEFAULT_CONFIG_DIR), base_topic=f"bench_{uuid.uuid4().hex[:8]}")
    settings = dataclasses.replace(settings, base_topic=registry.base_topic)
    simulator = Simulator(registry, settings).start_thread()
    try:
        with MqttClient(settings) as client:
            dispatcher = Dispatcher(registry, settings, client)
            echo_latency(dispatcher, 20)  # warm-up
            times = echo_latency(dispatcher, args.commands)
        q = statistics.quantiles(times, n=20)
        print(f"broker {settings.host}:{settings.port}" + (" (own mosquitto, set_tcp_nodelay "
              f"{'on' if args.tcp_nodelay else 'off (default)'})" if proc else ""))
        print(f"command -> state echo over {len(times)} commands: median {statistics.median(times):.2f} ms, "
              f"p95 {q[18]:.2f} ms, max {max(times):.2f} ms (target <= 20 ms)")
        with MqttClient(settings) as client:
            result = survival(simulator, client, registry.base_topic, args.payloads, args.seed)
        print(f"survival: {result['payloads']} random payloads in {result['seconds']:.1f} s; simulator still "
              f"answering: {result['alive']}; devices with invalid state: {len(result['invalid_states'])}")
        ok = statistics.median(times) <= 20 and result["alive"] and not result["invalid_states"]
        return 0 if ok else 1
    finally:
        simulator.stop()
        if proc is not None:
            proc.stop()


def publish_cost(side: str, port: int, commands: int) -> dict:
    """CPU (and wall p50) of publishing `commands` on/off commands at QoS 1 to a broker on `port`: bare paho
    ("raw") or the dispatcher with our client ("ours"). For scripts/bench.py's mqtt stage."""
    settings = MqttSettings(host="127.0.0.1", port=port)
    intents = [Intent("HassTurnOn", {"name": "kitchen_light"}), Intent("HassTurnOff", {"name": "kitchen_light"})]
    payloads = ['{"state":"ON"}', '{"state":"OFF"}']
    topic = "zigbee2mqtt/kitchen_light/set"
    walls = []
    if side == "raw":
        import paho.mqtt.client as mqtt

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-raw-{os.getpid()}")
        client.connect("127.0.0.1", port)
        client.loop_start()
        start = time.process_time()
        for i in range(commands):
            t0 = time.perf_counter()
            client.publish(topic, payloads[i % 2], qos=1).wait_for_publish(5)
            walls.append((time.perf_counter() - t0) * 1000)
        cpu = time.process_time() - start
        client.loop_stop()
        client.disconnect()
    else:
        registry = load_registry(DEFAULT_CONFIG_DIR)
        client = MqttClient(settings)
        dispatcher = Dispatcher(registry, settings, _PublishOnly(client))
        start = time.process_time()
        for i in range(commands):
            t0 = time.perf_counter()
            dispatcher.dispatch([intents[i % 2]])
            walls.append((time.perf_counter() - t0) * 1000)
        cpu = time.process_time() - start
        client.close()
    return {"cpu_s": cpu, "work": commands, "wall_ms_p50": statistics.median(walls)}


class _PublishOnly:
    """Our MQTT client, minus the wait for device echoes (no bridge answers in this bench): the dispatcher
    plans, validates, encodes and publishes at QoS 1 exactly as in a turn, like the bare paho side."""

    def __init__(self, client):
        self._client = client

    def get(self, timeout_s: float):
        return None  # nothing to wait for

    def __getattr__(self, name):
        return getattr(self._client, name)


if __name__ == "__main__":
    sys.exit(main())
