"""`assistant simulate`: a virtual Zigbee2MQTT bridge for the devices in the registry."""

from __future__ import annotations

import argparse

from . import settings_from, stop_on_sigterm
from .devices import add_broker_args, broker_settings
from ..errors import BrokerError

# The MQTT client's own hint suggests 'assistant demo', which brings its own simulator: no help to someone
# who wants this bridge for their own assistant.
_UNREACHABLE_HINT = ("start Mosquitto there (scripts/setup.sh installs it; config/mosquitto/ has an example "
                     "configuration) or pass --broker HOST:PORT; --embedded starts a broker of its own")


def register(sub, common) -> None:
    p = sub.add_parser("simulate", parents=[common], help="run a simulated Zigbee2MQTT bridge for the registry")
    where = p.add_mutually_exclusive_group()  # --embedded starts its own broker: a --broker would be ignored
    where.add_argument("--embedded", action="store_true",
                       help="start a broker of its own on 127.0.0.1, a free port (a private Mosquitto; the "
                            "in-process amqtt broker where there is none) instead of using --broker")
    add_broker_args(p, broker_group=where)
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
        import sys

        from ..app import broker_hint, start_own_broker

        broker = start_own_broker(say=lambda line: print(line, file=sys.stderr, flush=True))
        mqtt = dataclasses.replace(mqtt, host=broker.host, port=broker.port, username=None, password=None,
                                   tls_ca=None)
        print(broker_hint(broker), flush=True)
    simulator = Simulator(registry, mqtt, args.unreachable)
    stop_on_sigterm()
    try:
        try:
            simulator.start(wait_for_broker_s=max(0.0, args.wait_for_broker))
        except BrokerError as exc:
            raise _with_simulate_hint(exc) from None
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


def _with_simulate_hint(exc: BrokerError) -> BrokerError:
    """An unreachable broker, with the fixes that fit simulate; any other broker error as it is."""
    message = str(exc)
    if not message.startswith("cannot reach MQTT broker"):
        return exc
    return BrokerError(f"{message.split('; ', 1)[0]}; {_UNREACHABLE_HINT}")
