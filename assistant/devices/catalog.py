"""What each IKEA model can do, as data (mirrors Zigbee2MQTT's `exposes` for these devices).

Ranges come from Zigbee2MQTT's device pages: brightness 0-254, colour temperature 250-454 mired for
TRÅDFRI white spectrum, blind position 0-100, STARKVIND fan_mode off/auto/1-9.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping


class DeviceKind(str, Enum):
    LIGHT = "light"
    OUTLET = "outlet"
    COVER = "cover"
    PURIFIER = "purifier"


@dataclass(frozen=True)
class Attribute:
    """One exposed property. `values` for enums; `minimum`/`maximum` for numbers; writable or read-only."""

    name: str
    kind: str  # "enum" | "numeric" | "color"
    values: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    writable: bool = True
    unit: str = ""


@dataclass(frozen=True)
class ModelSpec:
    model: str
    description: str
    kind: DeviceKind
    attributes: Mapping[str, Attribute] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.attributes


def _attrs(*items: Attribute) -> dict[str, Attribute]:
    return {a.name: a for a in items}


_LIGHT_STATE = Attribute("state", "enum", ("ON", "OFF", "TOGGLE"))
_BRIGHTNESS = Attribute("brightness", "numeric", minimum=0, maximum=254)
_COLOR_TEMP = Attribute("color_temp", "numeric", minimum=250, maximum=454, unit="mired")
_COLOR = Attribute("color", "color")

CATALOG: dict[str, ModelSpec] = {
    spec.model: spec
    for spec in (
        ModelSpec("LED1836G9", "TRÅDFRI bulb E27 white, dimmable 806 lm", DeviceKind.LIGHT,
                  _attrs(_LIGHT_STATE, _BRIGHTNESS)),
        ModelSpec("LED1545G12", "TRÅDFRI bulb E27 white spectrum opal 980 lm", DeviceKind.LIGHT,
                  _attrs(_LIGHT_STATE, _BRIGHTNESS, _COLOR_TEMP)),
        ModelSpec("LED1924G9", "TRÅDFRI bulb E26/E27 colour and white spectrum 806 lm", DeviceKind.LIGHT,
                  _attrs(_LIGHT_STATE, _BRIGHTNESS, _COLOR_TEMP, _COLOR)),
        ModelSpec("E1603", "TRÅDFRI control outlet", DeviceKind.OUTLET,
                  _attrs(Attribute("state", "enum", ("ON", "OFF", "TOGGLE")))),
        ModelSpec("E1757", "FYRTUR roller blind", DeviceKind.COVER,
                  _attrs(Attribute("state", "enum", ("OPEN", "CLOSE", "STOP")),
                         Attribute("position", "numeric", minimum=0, maximum=100, unit="%"),
                         Attribute("battery", "numeric", minimum=0, maximum=100, writable=False, unit="%"))),
        ModelSpec("E2007", "STARKVIND air purifier", DeviceKind.PURIFIER,
                  _attrs(Attribute("fan_mode", "enum", ("off", "auto", "1", "2", "3", "4", "5", "6", "7", "8", "9")),
                         Attribute("fan_state", "enum", ("ON", "OFF")),
                         Attribute("pm25", "numeric", minimum=0, maximum=999, writable=False, unit="µg/m³"),
                         Attribute("air_quality", "enum",
                                   ("excellent", "good", "moderate", "poor", "unhealthy", "hazardous", "unknown"),
                                   writable=False))),
    )
}
