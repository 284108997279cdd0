"""DeviceCommand <-> MQTT topic + payload, in Zigbee2MQTT's layout. The only module that knows topic names.

    <base>/<name>               retained JSON state of a device or group
    <base>/<name>/set | /get    commands
    <base>/<name>/availability  retained {"state": "online" | "offline"}
    <base>/bridge/state         retained {"state": "online" | "offline"} (the bridge's last will)
    <base>/bridge/devices, bridge/groups   retained inventories
    <base>/bridge/logging       {"level": ..., "message": ...}; Zigbee2MQTT 2.x reports failed commands here,
                                e.g. "Publish 'set' 'state' to 'desk_lamp' failed: '...'" (no transaction id)
    <base>/bridge/request/<x> -> <base>/bridge/response/<x>   {"status": "ok" | "error", "data": ..., "error": ...}
    homeassistant/<component>/<node>/<object>/config   Home Assistant discovery
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Collection, Mapping

from .messages import DeviceCommand, MqttMessage

DISCOVERY_PREFIX = "homeassistant"
QOS = 1


class TopicKind(str, Enum):
    STATE = "state"
    SET = "set"
    GET = "get"
    AVAILABILITY = "availability"
    BRIDGE = "bridge"  # name holds the part after bridge/, e.g. "logging" or "request/simulate/unreachable"


@dataclass(frozen=True)
class Route:
    kind: TopicKind
    name: str


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Topics:
    """Topic names under one base topic (default "zigbee2mqtt")."""

    def __init__(self, base: str):
        self.base = base

    def state(self, name: str) -> str:
        return f"{self.base}/{name}"

    def set(self, name: str) -> str:
        return f"{self.base}/{name}/set"

    def get(self, name: str) -> str:
        return f"{self.base}/{name}/get"

    def availability(self, name: str) -> str:
        return f"{self.base}/{name}/availability"

    def bridge(self, sub: str) -> str:
        return f"{self.base}/bridge/{sub}"

    def route(self, topic: str) -> Route | None:
        """Classify an incoming topic; None if it is not ours. A friendly name may hold '/' ("Kitchen/Ceiling",
        as in Zigbee2MQTT); the registry refuses names whose last part is set, get or availability, so the
        last level alone tells a command or availability from a state."""
        prefix = self.base + "/"
        if not topic.startswith(prefix):
            return None
        rest = topic[len(prefix):]
        if rest.startswith("bridge/"):
            return Route(TopicKind.BRIDGE, rest[len("bridge/"):])
        parts = rest.split("/")
        if not all(parts) or parts[0] == "bridge":
            return None
        kind = {"set": TopicKind.SET, "get": TopicKind.GET, "availability": TopicKind.AVAILABILITY}.get(parts[-1])
        if kind is not None and len(parts) > 1:
            return Route(kind, "/".join(parts[:-1]))
        return Route(TopicKind.STATE, rest)

    # Subscriptions a client needs to follow every device (state + availability) and the bridge; the
    # single-level wildcard misses names with '/', so those are subscribed by name.
    def follow_patterns(self, names: Collection[str] = ()) -> tuple[str, ...]:
        nested = [t for n in names if "/" in n for t in (self.state(n), self.availability(n))]
        return (f"{self.base}/+", f"{self.base}/+/availability", f"{self.base}/bridge/#", *nested)


def sync_topic(token: str, satellite_id: str = "default") -> str:
    """A private topic a client publishes to itself: when its own message comes back, every retained
    message of its earlier subscriptions has already arrived (brokers keep per-client order). It lives
    under the satellite's own assistant/<id>/ prefix, the only non-command topics a broker ACL grants it."""
    return f"assistant/{satellite_id}/sync/{token}"


# Not a broker topic ('$' topics belong to brokers, so nothing real can arrive on it): the MQTT adapter
# queues one message on it each time it reconnects, in order with the messages around it.
CONNECTED_TOPIC = "$client/reconnected"


def discovery_topic(component: str, node: str, obj: str) -> str:
    return f"{DISCOVERY_PREFIX}/{component}/{node}/{obj}/config"


# --------------------------------------------------------------------------- encoding


def encode_command(command: DeviceCommand, topics: Topics) -> MqttMessage:
    """A DeviceCommand (device or group) -> the /set message, QoS 1, not retained."""
    return MqttMessage(topics.set(command.device), _json(dict(command.changes)), qos=QOS, retain=False)


def encode_get(name: str, attributes: tuple[str, ...], topics: Topics) -> MqttMessage:
    return MqttMessage(topics.get(name), _json({a: "" for a in attributes}), qos=QOS, retain=False)


def state_message(topics: Topics, name: str, state: Mapping[str, Any]) -> MqttMessage:
    return MqttMessage(topics.state(name), _json(dict(state)), qos=QOS, retain=True)


def availability_message(topics: Topics, name: str, online: bool) -> MqttMessage:
    return MqttMessage(topics.availability(name), _json({"state": "online" if online else "offline"}), QOS, True)


def bridge_state_message(topics: Topics, online: bool) -> MqttMessage:
    return MqttMessage(topics.bridge("state"), _json({"state": "online" if online else "offline"}), QOS, True)


def bridge_json_message(topics: Topics, sub: str, value: Any, retain: bool = True) -> MqttMessage:
    return MqttMessage(topics.bridge(sub), _json(value), QOS, retain)


def log_message(topics: Topics, level: str, message: str) -> MqttMessage:
    return MqttMessage(topics.bridge("logging"), _json({"level": level, "message": message}), QOS, False)


def response_message(topics: Topics, request: str, data: Any, error: str | None = None,
                     transaction: Any = None) -> MqttMessage:
    body: dict[str, Any] = {"data": data, "status": "error" if error else "ok"}
    if error:
        body["error"] = error
    if transaction is not None:
        body["transaction"] = transaction
    return MqttMessage(topics.bridge(f"response/{request}"), _json(body), QOS, False)


def discovery_message(component: str, node: str, obj: str, config: Mapping[str, Any]) -> MqttMessage:
    return MqttMessage(discovery_topic(component, node, obj), _json(dict(config)), QOS, True)


# --------------------------------------------------------------------------- decoding


def parse_object(payload: str) -> dict[str, Any] | None:
    """A JSON object payload, or None when it is not one (retained garbage, plain strings)."""
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def parse_availability(payload: str) -> bool | None:
    """True online / False offline / None unknown. Accepts the JSON form and the legacy plain string."""
    obj = parse_object(payload)
    text = obj.get("state") if obj is not None else payload.strip()
    if text == "online":
        return True
    if text == "offline":
        return False
    return None


# Zigbee2MQTT's publish extension logs a failed /set as "Publish 'set' '<key>' to '<friendly name>' failed: '<why>'"
# (one line per key; the simulator leaves the key out when the whole payload is refused).
_PUBLISH_FAILED = re.compile(r"Publish '(?:set|get)' (?:'(?P<key>[^']*)' )?to '(?P<name>[^']*)' failed")


@dataclass(frozen=True)
class BridgeError:
    """An error the bridge logged. It carries no transaction id: which command it answers is read from the
    friendly name (and key) that a failed publish names."""

    text: str
    name: str | None = None  # the device or group of a failed publish
    key: str | None = None  # the attribute it failed on

    def about(self, target: str, keys: Collection[str]) -> bool:
        """Whether this error can be the answer to a command with these keys sent to `target`."""
        if self.name is not None:
            return self.name == target and (self.key is None or self.key in keys)
        return f"'{target}'" in self.text  # other errors ("Entity 'x' is unknown") only quote the name


def parse_bridge_error(payload: str) -> BridgeError | None:
    """A bridge/logging payload -> BridgeError when it is an error, else None."""
    entry = parse_object(payload) or {}
    if entry.get("level") != "error":
        return None
    text = str(entry.get("message", ""))
    failed = _PUBLISH_FAILED.match(text)
    if failed is None:
        return BridgeError(text)
    return BridgeError(text, failed["name"], failed["key"])
