"""The steps a dispatcher session asks its driver to carry out, and the Reply the driver answers each with.

A session's turn is a generator of these steps (dispatch_session.py); dispatcher.py carries them out on a
real MQTT client and clock, and tests answer them from a script. Times are milliseconds from any origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generator

from .messages import MqttMessage


@dataclass(frozen=True)
class Publish:
    """Publish this message. Reply with error= the broker's refusal when it did not take it."""

    message: MqttMessage


@dataclass(frozen=True)
class Listen:
    """The next message received, waiting until until_ms at most. Reply with message=None when none came."""

    until_ms: float


@dataclass(frozen=True)
class Drain:
    """Everything received so far, without waiting. Reply with messages=."""


@dataclass(frozen=True)
class AwaitBroker:
    """Wait, until until_ms at most, for the broker to be there. Reply with connected=."""

    until_ms: float


Step = Publish | Listen | Drain | AwaitBroker


@dataclass(frozen=True)
class Reply:
    """What the driver saw when it carried out a step: the time, whether the broker is connected, and
    the step's answer."""

    now_ms: float
    connected: bool = True
    message: MqttMessage | None = None  # Listen
    messages: tuple[MqttMessage, ...] = ()  # Drain
    error: str | None = None  # Publish: why the broker did not take it


Steps = Generator[Step, Reply, Any]
