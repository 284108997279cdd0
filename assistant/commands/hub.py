"""`assistant hub --wyoming tcp://HOST:PORT`: this assistant's recognizer, matcher and device control as a
Wyoming service that Home Assistant adds as a local service."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import socket
import sys

from . import settings_from, stop_on_sigterm
from .devices import add_broker_args, broker_settings
from ..config import SPEECH_ENGINES
from ..errors import ConfigError

DEFAULT_URI = "tcp://127.0.0.1:10700"


def register(sub, common) -> None:
    p = sub.add_parser(
        "hub", parents=[common], help="serve speech to text, intents and device control over Wyoming",
        description="A Wyoming server for Home Assistant (Settings > Devices & services > Add > Wyoming "
                    "Protocol, host and port of --wyoming): speech to text with this assistant's recognizer, "
                    "intent recognition with its sentences, and handling that switches the devices over MQTT. "
                    "Wyoming has no authentication: anyone who can reach the port can switch the lights, so it "
                    "listens on 127.0.0.1 unless told otherwise, and another address needs --allow.")
    p.add_argument("--wyoming", metavar="tcp://HOST:PORT", default=DEFAULT_URI,
                   help=f"where to listen (default {DEFAULT_URI})")
    p.add_argument("--allow", metavar="HOST[,HOST]",
                   help="the only machines served when listening beyond this one (names or addresses, e.g. "
                        "Home Assistant's); required for any address but loopback")
    p.add_argument("--window-ms", type=int, default=1500, metavar="MS",
                   help="satellites that wake within this long of each other heard one utterance: the one that "
                        "heard it best takes the turn (default 1500)")
    p.add_argument("--follow-up-ms", type=int, default=5000, metavar="MS",
                   help="after a turn, its satellite listens this long for a continuation without the wake word "
                        "('and the bedroom too'); 0 turns follow-ups off (default 5000)")
    add_broker_args(p)
    p.add_argument("--engine", choices=SPEECH_ENGINES, help="speech engine (default from config)")
    p.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_addresses(value: str | None) -> frozenset[str] | None:
    """--allow's names and addresses -> the peer addresses they are now (None when not given)."""
    if not value:
        return None
    out: set[str] = set()
    for name in (part.strip() for part in value.split(",")):
        if not name:
            continue
        try:
            out.update(str(info[4][0]) for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP))
        except (socket.gaierror, UnicodeError):
            raise ConfigError(f"--allow {name!r}: no such host; give an address such as 192.168.1.20") from None
    if not out:
        raise ConfigError("--allow names no host; give one or more addresses separated by commas")
    return frozenset(out)


def check_exposure(host: str, allowed: frozenset[str] | None) -> None:
    if not is_loopback(host) and allowed is None:
        raise ConfigError(f"--wyoming on {host} lets every machine that reaches it switch the lights; name the "
                          "ones to serve with --allow HOST[,HOST], or listen on 127.0.0.1")


def run(args: argparse.Namespace) -> int:
    from .. import __version__
    from ..adapters.wyoming import WyomingServer, parse_uri
    from ..app import build
    from ..hub import Hub
    from .listen import EventPublisher

    host, _ = parse_uri(args.wyoming)
    allowed = allowed_addresses(args.allow)
    check_exposure(host, allowed)
    if args.window_ms < 0 or args.follow_up_ms < 0:
        raise ConfigError("--window-ms and --follow-up-ms take a number of milliseconds, 0 or more")
    settings = settings_from(args).with_overrides(speech={"engine": args.engine})
    assistant = build(settings, broker_settings(args, settings), say=lambda s: print(s, file=sys.stderr))
    try:
        hub = Hub(assistant.registry, assistant.recognizer, assistant.language, assistant.dispatcher,
                  settings.speech.language, settings.satellite.area,
                  pipeline_for=lambda understand, name: assistant.turn_pipeline(
                      understand, EventPublisher(assistant.clock, name), name),
                  window_ms=args.window_ms, follow_up_ms=args.follow_up_ms)
        server = WyomingServer(hub, args.wyoming, allowed, __version__)
        who = "only " + ", ".join(sorted(allowed)) if allowed else "this machine only"
        print(f"Wyoming server on {args.wyoming} (serving {who}); Home Assistant adds it as a Wyoming "
              "Protocol service with that host and port. Ctrl-C stops it.", file=sys.stderr, flush=True)
        stop_on_sigterm()
        asyncio.run(server.serve_forever())
    finally:
        assistant.close()
    return 0
