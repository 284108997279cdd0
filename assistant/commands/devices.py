"""`assistant devices [--from-broker] [--write FILE]`: list the registry, or build one from Zigbee2MQTT."""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import os
import re
import time
import uuid
from pathlib import Path

from . import settings_from
from ..config import MqttSettings, Settings
from ..errors import AssistantError, BrokerError, ConfigError

READ_TIMEOUT_S = 3.0
_HOST_RE = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")  # a host name or IPv4 address


def add_broker_args(p: argparse.ArgumentParser,
                    broker_help: str = "MQTT broker (default from settings, 127.0.0.1:1883)",
                    broker_group: argparse._MutuallyExclusiveGroup | None = None) -> None:
    """--broker and its credentials; broker_help says what the command does without --broker, and
    broker_group is a mutually exclusive group --broker joins (its rivals, e.g. --dry-run)."""
    (broker_group or p).add_argument("--broker", metavar="HOST:PORT", help=broker_help)
    p.add_argument("--username", help="MQTT user name")
    p.add_argument("--password", help="MQTT password (better: set $ASSISTANT_MQTT_PASSWORD, which 'ps' cannot show)")
    p.add_argument("--tls-ca", metavar="FILE", help="CA certificate for a TLS broker")


def broker_settings(args: argparse.Namespace, settings: Settings) -> MqttSettings:
    mqtt = settings.mqtt
    if args.broker is not None:
        host, port = parse_broker(args.broker, mqtt.port)
        mqtt = dataclasses.replace(mqtt, host=host, port=port)
    password = args.password or os.environ.get("ASSISTANT_MQTT_PASSWORD")
    changes = {k: v for k, v in (("username", args.username), ("password", password),
                                 ("tls_ca", args.tls_ca)) if v}
    return dataclasses.replace(mqtt, **changes)


def parse_broker(value: str, default_port: int) -> tuple[str, int]:
    """--broker's value: [IPv6]:PORT, [IPv6], HOST:PORT or HOST (then default_port) -> (host, port)."""
    expected = f"--broker {value!r}: expected HOST:PORT, HOST or [IPv6]:PORT, e.g. 127.0.0.1:1883 or [::1]:1883"
    if value.startswith("["):
        address, closed, rest = value[1:].partition("]")
        host, sep, port = address, rest[:1], rest[1:]
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            raise ConfigError(expected) from None
        if not closed or rest[:1] not in ("", ":"):
            raise ConfigError(expected)
    else:
        host, sep, port = value.partition(":")
        if ":" in port and re.fullmatch(r"[0-9A-Fa-f:.%]+", value):
            raise ConfigError(f"--broker {value!r}: put an IPv6 address in brackets, e.g. [::1]:1883")
        if not _HOST_RE.match(host):
            raise ConfigError(expected)
    if not sep:
        return host, default_port
    if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise ConfigError(expected)
    return host, int(port)


def register(sub, common) -> None:
    p = sub.add_parser("devices", parents=[common], help="list the device registry, or build it from Zigbee2MQTT")
    p.add_argument("--from-broker", action="store_true",
                   help="read bridge/devices and bridge/groups from a running Zigbee2MQTT (or 'assistant simulate')")
    p.add_argument("--write", metavar="FILE", help="with --from-broker: save the registry as this devices.yaml")
    p.add_argument("--force", action="store_true", help="with --write: replace an existing file")
    p.add_argument("--base-topic", help="Zigbee2MQTT base topic (default: settings, zigbee2mqtt)")
    add_broker_args(p)
    p.set_defaults(func=run)


def _read_bridge(mqtt: MqttSettings, base: str) -> tuple[list, list]:
    from ..adapters.mqtt import MqttClient
    from ..mqtt_codec import Topics, sync_topic
    from ..messages import MqttMessage

    topics = Topics(base)
    marker = sync_topic(uuid.uuid4().hex, mqtt.satellite_id)
    wanted = {topics.bridge("devices"): None, topics.bridge("groups"): None}
    with MqttClient(mqtt) as client:
        client.subscribe(*wanted, marker)
        client.publish(MqttMessage(marker, "{}"))
        deadline = time.monotonic() + READ_TIMEOUT_S
        while (left := deadline - time.monotonic()) > 0:
            message = client.get(left)
            if message is None or message.topic == marker:
                break
            if message.topic in wanted:
                try:
                    wanted[message.topic] = json.loads(message.payload)
                except ValueError:
                    raise BrokerError(f"{message.topic} on {mqtt.host}:{mqtt.port} is not JSON") from None
    devices = wanted[topics.bridge("devices")]
    if not isinstance(devices, list):
        raise BrokerError(f"no retained {topics.bridge('devices')} on {mqtt.host}:{mqtt.port}; is Zigbee2MQTT "
                          f"(or 'assistant simulate') running with base topic {base!r}? (--base-topic)")
    groups = wanted[topics.bridge("groups")]
    return devices, groups if isinstance(groups, list) else []


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.from_broker:
        from ..adapters.pocketsphinx import unknown_words
        from ..devices.discover import registry_from_bridge

        mqtt = broker_settings(args, settings)
        base = args.base_topic or mqtt.base_topic
        devices, groups = _read_bridge(mqtt, base)
        try:
            registry, text, notes = registry_from_bridge(devices, groups, base, f"{mqtt.host}:{mqtt.port}",
                                                         unknown_words)
        except ConfigError as exc:
            raise AssistantError(f"the bridge's devices do not make a usable registry: {exc}") from None
        for note in notes:
            print(f"note: {note}")
        if args.write:
            path = Path(args.write)
            if path.is_dir():
                path = path / "devices.yaml"
            if path.exists() and not args.force:
                raise AssistantError(f"{path} exists, and its extra names, comments and scene states would be lost; "
                                     "write to another file and merge, or add --force")
            try:
                path.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise AssistantError(f"cannot write {path}: {exc.strerror or exc}") from None
            print(f"wrote {path} ({len(registry.devices)} devices, {len(registry.groups)} groups)")
    else:
        if args.write:
            raise AssistantError("--write needs --from-broker (the registry file is already written)")
        from ..devices.registry import load_registry

        registry = load_registry(settings.config_dir)
    _print_registry(registry)
    return 0


def _print_registry(registry) -> None:
    print(f"base topic: {registry.base_topic}   source: {registry.source}")
    for d in registry.devices.values():
        print(f"  {d.name:22} {d.spec.model:11} {d.kind.value:9} {d.area or '-':12} say: {', '.join(d.say)}")
    for g in registry.groups.values():
        print(f"  group {g.name} (id {g.group_id}): {', '.join(g.members)}   say: {', '.join(g.say)}")
    for s in registry.scenes.values():
        print(f"  scene {s.name} (id {s.scene_id} in {s.group})   say: {', '.join(s.say)}")
