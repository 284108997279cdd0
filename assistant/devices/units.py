"""Unit conversions between what people say and what Zigbee2MQTT expects.

Percent -> brightness 0-254, kelvin <-> mired, colour names -> CIE 1931 xy (what IKEA bulbs store).
"""

from __future__ import annotations

BRIGHTNESS_MAX = 254

# sRGB hex of each colour name the grammar knows; xy is derived, not hand-typed.
COLOR_HEX: dict[str, str] = {
    "red": "#FF0000",
    "green": "#00FF00",
    "blue": "#0000FF",
    "yellow": "#FFFF00",
    "orange": "#FFA500",
    "purple": "#800080",
    "pink": "#FFC0CB",
    "white": "#FFFFFF",
}

WHITE_KELVIN = 4000  # "white" on a bulb that only does white spectrum


def percent_to_brightness(percent: float) -> int:
    """0-100 % -> 0-254; any non-zero percent stays visibly on (>= 1)."""
    value = round(max(0.0, min(100.0, float(percent))) * BRIGHTNESS_MAX / 100)
    return max(1, value) if percent > 0 else 0


def brightness_to_percent(brightness: int) -> int:
    return round(max(0, min(BRIGHTNESS_MAX, brightness)) * 100 / BRIGHTNESS_MAX)


def kelvin_to_mired(kelvin: float) -> int:
    if kelvin <= 0:
        raise ValueError("kelvin must be positive")
    return round(1_000_000 / kelvin)


def mired_to_kelvin(mired: float) -> int:
    if mired <= 0:
        raise ValueError("mired must be positive")
    return round(1_000_000 / mired)


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def hex_to_xy(hex_color: str) -> tuple[float, float]:
    """'#RRGGBB' (or 'RRGGBB') -> CIE 1931 (x, y) through sRGB/D65; raises ValueError if malformed."""
    text = hex_color.strip().lstrip("#")
    if len(text) != 6 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ValueError(f"{hex_color!r} is not a #RRGGBB colour")
    r, g, b = (_linear(int(text[i:i + 2], 16) / 255) for i in (0, 2, 4))
    x = r * 0.4124 + g * 0.3576 + b * 0.1805
    y = r * 0.2126 + g * 0.7152 + b * 0.0722
    z = r * 0.0193 + g * 0.1192 + b * 0.9505
    total = x + y + z
    if total == 0:  # black has no chromaticity; use the white point
        return 0.3127, 0.329
    return round(x / total, 4), round(y / total, 4)


def color_name_to_xy(name: str) -> tuple[float, float]:
    hex_color = COLOR_HEX.get(name)
    if hex_color is None:
        raise ValueError(f"unknown colour {name!r}; known: {', '.join(COLOR_HEX)}")
    return hex_to_xy(hex_color)


def spoken_value(key: str, value) -> str:
    """A reported value as people say it: brightness in percent, colour temperature in kelvin (not the
    mired Zigbee2MQTT reports), a blind's position as how far open, states in lower case."""
    if key == "brightness" and isinstance(value, int):
        return f"{brightness_to_percent(value)}%"
    if key == "color_temp" and isinstance(value, (int, float)) and value > 0:
        return f"{round(mired_to_kelvin(value), -2)} kelvin"
    if key == "position" and isinstance(value, (int, float)):
        return {0: "closed", 100: "fully open"}.get(value, f"{value}% open")
    if key == "fan_mode":
        return {"off": "off", "auto": "on auto"}.get(str(value), f"on speed {value}")
    return {"CLOSE": "closed"}.get(str(value), str(value).lower())
