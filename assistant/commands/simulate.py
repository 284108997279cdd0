"""`assistant simulate`: a virtual Zigbee2MQTT bridge for the devices in the registry."""

from __future__ import annotations

import argparse

from . import settings_from
from .devices import add_broker_args, broker_settings


def register(sub, common) -> None:
    p = sub.add_parser("simulate", parents=[common], help="run a simulated Zigbee2MQTT bridge for the registry")
    add_broker_args(p)
    p.add_argument("--embedded", action="store_true",
                   help="start an in-process broker on 127.0.0.1 (a free port) instead of using --broker")
    p.add_argument("--unreachable", metavar="DEVICE", action="append", default=[],
                   help="start with this device off the network (repeatable); at run time publish "
                        "{\"id\": DEVICE, \"value\": true|false} to <base>/bridge/request/simulate/unreachable")
    p.add_argument("--wait-for-broker", type=float, default=0.0, metavar="SECONDS",
                   help="wait up to this long for the broker to come up (e.g. when started before Mosquitto); "
                        "default: fail at once")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..devices.registry import load_registry
    from ..sim.runner import Simulator

    settings = settings_from(args)
    registry = load_registry(settings.config_dir)
    mqtt = broker_settings(args, settings)
    broker = None
    if args.embedded:
        import dataclasses
        from ..adapters.embedded_broker import EmbeddedBroker

        broker = EmbeddedBroker()
        host, port = broker.start()
        mqtt = dataclasses.replace(mqtt, host=host, port=port, username=None, password=None, tls_ca=None)
    simulator = Simulator(registry, mqtt, args.unreachable)
    try:
        simulator.start(wait_for_broker_s=max(0.0, args.wait_for_broker))
        restored = f", restored {len(simulator.restored)} states" if simulator.restored else ""
        print(f"simulating {len(registry.devices)} devices under {registry.base_topic}/ on "
              f"{mqtt.host}:{mqtt.port}{restored}; Ctrl-C stops", flush=True)
        simulator.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        simulator.stop(clean=True)
        if broker is not None:
            broker.stop()
    return 0
