"""The registry of this home: devices, groups and scenes, loaded and validated from config/devices.yaml.

Every spoken name (device, group, area, scene) the assistant understands comes from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..config import YamlDoc, load_yaml
from ..errors import ConfigError
from ..messages import HomeNames, NamedDevice, NamedGroup, NamedScene
from .catalog import CATALOG, DeviceKind, ModelSpec

# Zigbee2MQTT friendly names become MQTT topics: "Kitchen/Ceiling" nests, as in Zigbee2MQTT
# (<base>/Kitchen/Ceiling/set). What route() in mqtt_codec needs to read a topic back without a list of names:
# no wildcards, no empty levels, and no last level that reads as a command or an endpoint.
MAX_NAME_CHARS = 63
_COMMAND_LEVELS = ("set", "get", "availability")
_SAY_RE = re.compile(r"^[a-z][a-z ']{0,60}$")


@dataclass(frozen=True)
class Device:
    name: str  # Zigbee2MQTT friendly name, the topic level
    spec: ModelSpec
    area: str | None
    say: tuple[str, ...]

    @property
    def kind(self) -> DeviceKind:
        return self.spec.kind

    @property
    def spoken(self) -> str:
        return self.say[0]


@dataclass(frozen=True)
class Group:
    name: str
    group_id: int
    say: tuple[str, ...]
    members: tuple[str, ...]

    @property
    def spoken(self) -> str:
        return self.say[0]


@dataclass(frozen=True)
class Scene:
    name: str
    scene_id: int
    group: str
    say: tuple[str, ...]
    states: Mapping[str, Mapping[str, Any]]

    @property
    def spoken(self) -> str:
        return self.say[0]


@dataclass(frozen=True)
class Registry:
    base_topic: str
    devices: Mapping[str, Device]
    groups: Mapping[str, Group]
    scenes: Mapping[str, Scene]
    source: str = ""
    floors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # floor -> its areas ("upstairs")

    @property
    def areas(self) -> tuple[str, ...]:
        return tuple(sorted({d.area for d in self.devices.values() if d.area}))

    def in_area(self, area: str, kind: DeviceKind | None = None) -> tuple[Device, ...]:
        return tuple(d for d in self.devices.values() if d.area == area and (kind is None or d.kind == kind))

    def of_kind(self, kind: DeviceKind) -> tuple[Device, ...]:
        return tuple(d for d in self.devices.values() if d.kind == kind)

    def device_by_spoken(self, spoken: str) -> Device | None:
        return next((d for d in self.devices.values() if spoken in d.say), None)

    def group_by_spoken(self, spoken: str) -> Group | None:
        return next((g for g in self.groups.values() if spoken in g.say), None)

    def scene_by_spoken(self, spoken: str) -> Scene | None:
        return next((s for s in self.scenes.values() if spoken in s.say), None)

    def members(self, group: str) -> tuple[Device, ...]:
        return tuple(self.devices[m] for m in self.groups[group].members)

    def names(self) -> HomeNames:
        """What the language needs of this home: every name, as plain values."""
        return HomeNames(
            {n: NamedDevice(n, d.say, kind=d.kind.value, area=d.area) for n, d in self.devices.items()},
            {n: NamedGroup(n, g.say, members=g.members) for n, g in self.groups.items()},
            {n: NamedScene(n, s.say) for n, s in self.scenes.items()},
            dict(self.floors), self.source)


def _say(doc: YamlDoc, value: Any, default: str, *where: Any) -> tuple[str, ...]:
    if value is None:
        value = [re.sub(r"[_/]", " ", default).lower()]  # "Kitchen/Ceiling" -> "kitchen ceiling"
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise doc.error("expected a list of spoken names", *where)
    out = []
    for i, item in enumerate(value):
        text = " ".join(str(item).lower().split())
        problem = say_problem(text)
        if problem:
            raise doc.error(f"spoken name {item!r} {problem}", *where, i)
        out.append(text)
    return tuple(out)


def say_problem(text: str) -> str | None:
    """Why `text` cannot be a spoken name, or None."""
    if not _SAY_RE.match(text):
        return "must be plain lowercase words (letters, spaces, '), at most 61 characters"
    return None


def name_problem(name: Any) -> str | None:
    """Why `name` cannot be a friendly name here (said to a person), or None when it can."""
    if not isinstance(name, str) or not name:
        return "it is empty"
    if len(name) > MAX_NAME_CHARS:
        return f"it is longer than {MAX_NAME_CHARS} characters"
    if name.startswith("bridge"):
        return "names starting with 'bridge' are Zigbee2MQTT's own topics"
    bad = sorted({c for c in name if not (c.isalnum() or c in " _-./")})  # any script's letters: "Küche"
    if bad:
        return (f"it holds {' '.join(bad)} (a name may hold letters, digits, space and _ - ., with / between "
                "parts)")
    parts = name.split("/")
    if not all(parts):
        return "a / must stand between two parts (none at either end, no //)"
    if not all(part[0].isalnum() for part in parts):
        return "each part must start with a letter or a digit"
    if len(parts) > 1 and parts[-1].isdigit():
        return f"Zigbee2MQTT reads a last part of digits (/{parts[-1]}) as an endpoint"
    if len(parts) > 1 and parts[-1] in _COMMAND_LEVELS:
        return f"a last part /{parts[-1]} reads as a command topic"
    return None


def _check_name(doc: YamlDoc, name: Any, *where: Any) -> str:
    problem = name_problem(name)
    if problem:
        raise doc.error(f"invalid name {name!r}: {problem}", *where)
    return name


def _int(doc: YamlDoc, value: Any, *where: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise doc.error(f"expected a whole number >= 0, got {value!r}", *where)
    return value


def validate_state(doc: YamlDoc, spec: ModelSpec, state: Any, *where: Any) -> dict[str, Any]:
    """Check a stored state (scene member or initial state) against the model's capabilities."""
    if not isinstance(state, dict):
        raise doc.error("expected a mapping of attribute: value", *where)
    for key, value in state.items():
        attr = spec.attributes.get(key)
        if attr is None or not attr.writable:
            raise doc.error(f"{spec.model} has no writable attribute {key!r}", *where, key)
        if attr.kind == "enum" and str(value) not in attr.values:
            raise doc.error(f"{value!r} is not one of {', '.join(attr.values)}", *where, key)
        if attr.kind == "numeric":
            if not isinstance(value, int) or isinstance(value, bool) or not attr.minimum <= value <= attr.maximum:
                raise doc.error(f"{value!r} is out of range {attr.minimum}-{attr.maximum}", *where, key)
    return dict(state)


def registry_from_doc(doc: YamlDoc) -> Registry:
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error("expected a mapping with devices, groups and scenes")
    unknown = set(data) - {"base_topic", "devices", "groups", "scenes", "floors"}
    if unknown:
        raise doc.error("unknown key; expected base_topic, devices, groups, scenes, floors", sorted(unknown)[0])
    base = data.get("base_topic", "zigbee2mqtt")
    if not isinstance(base, str) or not re.match(r"^[A-Za-z0-9_\-/]+$", base) or base.endswith("/"):
        raise doc.error(f"invalid base topic {base!r}", "base_topic")

    devices: dict[str, Device] = {}
    raw_devices = data.get("devices") or {}
    if not isinstance(raw_devices, dict) or not raw_devices:
        raise doc.error("expected at least one device", "devices")
    for name, entry in raw_devices.items():
        _check_name(doc, name, "devices", name)
        if not isinstance(entry, dict):
            raise doc.error("expected a mapping with model, area, say", "devices", name)
        extra = set(entry) - {"model", "area", "say"}
        if extra:
            raise doc.error("unknown key; expected model, area, say", "devices", name, sorted(extra)[0])
        model = str(entry.get("model", ""))
        spec = CATALOG.get(model)
        if spec is None:
            raise doc.error(f"unknown model {model!r}; known: {', '.join(CATALOG)}", "devices", name, "model")
        area = entry.get("area")
        if area is not None:
            area = " ".join(str(area).lower().split())
            if not _SAY_RE.match(area):
                raise doc.error(f"area {area!r} must be plain lowercase words", "devices", name, "area")
        devices[name] = Device(name, spec, area, _say(doc, entry.get("say"), name, "devices", name, "say"))

    groups: dict[str, Group] = {}
    for name, entry in (data.get("groups") or {}).items():
        _check_name(doc, name, "groups", name)
        if name in devices:
            raise doc.error("a group cannot share a device's name", "groups", name)
        if not isinstance(entry, dict):
            raise doc.error("expected a mapping with id, say, members", "groups", name)
        members = entry.get("members")
        if not isinstance(members, list) or not members:
            raise doc.error("expected a list of device names", "groups", name, "members")
        for i, m in enumerate(members):
            if m not in devices:
                raise doc.error(f"unknown device {m!r}", "groups", name, "members", i)
        if len(set(members)) != len(members):
            raise doc.error("a device is listed twice", "groups", name, "members")
        group_id = _int(doc, entry.get("id", len(groups) + 1), "groups", name, "id")
        if not 1 <= group_id <= 65535:
            raise doc.error(f"group id {group_id} is out of range 1-65535", "groups", name, "id")
        clash = next((g.name for g in groups.values() if g.group_id == group_id), None)
        if clash:
            raise doc.error(f"group id {group_id} is already used by {clash!r}", "groups", name, "id")
        groups[name] = Group(name, group_id, _say(doc, entry.get("say"), name, "groups", name, "say"), tuple(members))

    scenes: dict[str, Scene] = {}
    for name, entry in (data.get("scenes") or {}).items():
        _check_name(doc, name, "scenes", name)
        if not isinstance(entry, dict):
            raise doc.error("expected a mapping with id, group, say, states", "scenes", name)
        group = entry.get("group")
        if group not in groups:
            raise doc.error(f"unknown group {group!r}", "scenes", name, "group")
        states = entry.get("states") or {}
        if not isinstance(states, dict):
            raise doc.error("expected a mapping of device: state", "scenes", name, "states")
        clean = {}
        for dev, state in states.items():
            if dev not in groups[group].members:
                raise doc.error(f"{dev!r} is not a member of group {group!r}", "scenes", name, "states", dev)
            clean[dev] = validate_state(doc, devices[dev].spec, state, "scenes", name, "states", dev)
        scene_id = _int(doc, entry.get("id", len(scenes) + 1), "scenes", name, "id")
        if scene_id > 255:
            raise doc.error(f"scene id {scene_id} is out of range 0-255", "scenes", name, "id")
        clash = next((s.name for s in scenes.values() if s.group == group and s.scene_id == scene_id), None)
        if clash:
            raise doc.error(f"scene id {scene_id} is already used by {clash!r} in group {group!r}", "scenes", name, "id")
        if name in devices or name in groups:
            raise doc.error("a scene cannot share a device's or group's name", "scenes", name)
        scenes[name] = Scene(name, scene_id, group, _say(doc, entry.get("say"), name, "scenes", name, "say"), clean)

    _check_spoken_unique(doc, devices, groups, scenes)
    return Registry(base, devices, groups, scenes, str(doc.path), _floors(doc, data.get("floors"), devices))


def _floors(doc: YamlDoc, raw: Any, devices: Mapping[str, Device]) -> dict[str, tuple[str, ...]]:
    """floors: {upstairs: [bedroom, office]}: what "upstairs" means in "turn off the lights upstairs"."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise doc.error("expected a mapping of floor: [areas]", "floors")
    areas = {d.area for d in devices.values() if d.area}
    floors: dict[str, tuple[str, ...]] = {}
    for floor, members in raw.items():
        name = " ".join(str(floor).lower().split())
        if not _SAY_RE.match(name):
            raise doc.error(f"floor {name!r} must be plain lowercase words", "floors", floor)
        if not isinstance(members, list) or not members:
            raise doc.error("expected a list of areas", "floors", floor)
        for i, area in enumerate(members):
            if area not in areas:
                raise doc.error(f"unknown area {area!r}; areas come from the devices' area: {', '.join(sorted(areas))}",
                                "floors", floor, i)
        floors[name] = tuple(members)
    return floors


def _check_spoken_unique(doc: YamlDoc, devices: Mapping[str, Device], groups: Mapping[str, Group],
                         scenes: Mapping[str, Scene]) -> None:
    seen: dict[str, tuple] = {}
    entries: Iterable[tuple[str, str, tuple[str, ...]]] = (
        [("devices", n, d.say) for n, d in devices.items()] + [("groups", n, g.say) for n, g in groups.items()]
    )
    for section, name, say in entries:
        for spoken in say:
            if spoken in seen and seen[spoken][1] != name:
                raise doc.error(f"spoken name {spoken!r} is already used by {seen[spoken][1]!r}", section, name, "say")
            seen[spoken] = (section, name)
    scene_seen: dict[str, str] = {}
    for name, scene in scenes.items():
        for spoken in scene.say:
            if spoken in scene_seen:
                raise doc.error(f"spoken name {spoken!r} is already used by {scene_seen[spoken]!r}", "scenes", name, "say")
            scene_seen[spoken] = name


def load_registry(config_dir: Path | str) -> Registry:
    """Load <config_dir>/devices.yaml; any problem is a ConfigError naming file, line and key."""
    path = Path(config_dir) / "devices.yaml"
    if not path.exists():
        raise ConfigError(f"{path}: no device registry; write one or run 'assistant devices --from-broker'")
    return registry_from_doc(load_yaml(path))
