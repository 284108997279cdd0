"""The small immutable values that flow one way through the assistant.

AudioFrame -> WakeScores -> WakeDetected -> (SpeechPaused -> EarlyDecode) -> Utterance -> Transcript
-> Intent / NotUnderstood -> DeviceCommand -> MqttMessage -> DeviceOutcome (a turn's: Dispatched),
and one Interaction per turn holding all of them plus timings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping

SAMPLE_RATE = 16000
FRAME_SAMPLES = 1280  # 80 ms, what openWakeWord consumes per step
FRAME_MS = FRAME_SAMPLES * 1000 // SAMPLE_RATE


@dataclass(frozen=True)
class AudioFrame:
    """80 ms of 16 kHz mono signed 16-bit little-endian PCM."""

    pcm: bytes
    start_ms: int

    @property
    def end_ms(self) -> int:
        return self.start_ms + (len(self.pcm) // 2) * 1000 // SAMPLE_RATE


@dataclass(frozen=True)
class WakeScores:
    """Raw per-model scores (0-1) for the frame ending at end_ms."""

    end_ms: int
    scores: Mapping[str, float]


@dataclass(frozen=True)
class WakeDetected:
    wake_word: str
    time_ms: int  # end of the frame that triggered
    score: float
    onset_ms: int | None = None  # end of the first frame of the run over the threshold: ~ where the word ended
    snr_db: float | None = None  # how far the wake word stood above the background (wake.wake_snr_db)
    recheck: float | None = None  # the model was unsure: how well the wake phrase explains the audio (a second look)


@dataclass(frozen=True)
class WakeCandidate:
    """A run of frames where the model was unsure: the score reached the recheck threshold but not the
    threshold. Heard again by the speech recognizer before it counts (hearing.Ears)."""

    wake_word: str
    time_ms: int  # end of the frame in which the run was judged over
    score: float  # the run's peak
    peak_ms: int  # end of the frame with that peak: ~ where the word ended


class EndReason(str, Enum):
    SILENCE = "silence"  # the speaker stopped
    NO_SPEECH = "no_speech"  # nobody spoke after the wake word
    MAX_LENGTH = "max_length"  # command ran past the maximum length
    END_OF_AUDIO = "end_of_audio"  # the source ran out mid-command


@dataclass(frozen=True)
class Utterance:
    pcm: bytes
    start_ms: int
    end_ms: int
    ended_by: EndReason
    speech_end_ms: int | None = None  # last frame the VAD called speech


@dataclass(frozen=True)
class SpeechPaused:
    """The speaker has been quiet for part of the hangover: the command so far, for an early decode."""

    pcm: bytes
    start_ms: int
    end_ms: int
    speech_end_ms: int
    # offered at early_decode_noisy_ms, before (or without) the usual point: decode now only if the
    # background is to be suppressed first, which makes decoding slower
    noisy_only: bool = False


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float  # 0-1; low means "probably not something we know"
    engine: str
    rejected: bool = False
    audio_s: float = 0.0
    cpu_s: float = 0.0
    parts: tuple["Transcript", ...] = ()  # the fused engine: each engine's own transcript, grammar first
    why: str = ""  # the fused engine: why this transcript was taken or rejected


@dataclass(frozen=True)
class EarlyDecode:
    """A transcript of the command so far, decoded during a pause (SpeechPaused) while the hangover ran."""

    speech_end_ms: int  # the pause it was made for
    into_hangover_ms: int  # audio ms into the hangover when decoding started
    transcript: Transcript
    decode_ms: float  # wall time the decode took


@dataclass(frozen=True)
class Intent:
    name: str
    slots: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""
    source: str = "own"  # which sentences matched: "own" (config/sentences) or "ha" (Home Assistant's)
    confidence: float = 1.0  # 1 for a sentence matched word for word; lower when words were snapped or guessed

    def to_json(self) -> dict:
        return {"name": self.name, "slots": dict(self.slots)}


@dataclass(frozen=True)
class NotUnderstood:
    text: str
    reason: str
    out_of_domain: str | None = None  # what was asked for that this assistant does not do ("timers"), if known
    needs_area: bool = False  # it was about "here", and no area is set for this microphone
    asks_back: bool = False  # a continuation understood as one, but not certain enough to act: say the reason


@dataclass(frozen=True)
class Named:
    """A scene (or the base of a device or group) as the language knows it: its id and what people call it."""

    name: str
    say: tuple[str, ...]

    @property
    def spoken(self) -> str:
        return self.say[0]


@dataclass(frozen=True)
class NamedDevice(Named):
    kind: str  # light | outlet | cover | purifier
    area: str | None


@dataclass(frozen=True)
class NamedGroup(Named):
    members: tuple[str, ...]


NamedScene = Named


@dataclass(frozen=True)
class HomeNames:
    """Everything in the home that has a name, as plain lists: what the language is built from (the device
    registry makes it; the language never reads the registry itself)."""

    devices: Mapping[str, NamedDevice]
    groups: Mapping[str, NamedGroup]
    scenes: Mapping[str, NamedScene]
    floors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # floor -> its areas
    source: str = ""  # the file the names come from, for messages

    @property
    def areas(self) -> tuple[str, ...]:
        return tuple(sorted({d.area for d in self.devices.values() if d.area}))

    def in_area(self, area: str, kind: str | None = None) -> tuple[NamedDevice, ...]:
        return tuple(d for d in self.devices.values() if d.area == area and (kind is None or d.kind == kind))

    def of_kind(self, kind: str) -> tuple[NamedDevice, ...]:
        return tuple(d for d in self.devices.values() if d.kind == kind)

    def device_by_spoken(self, spoken: str) -> NamedDevice | None:
        return next((d for d in self.devices.values() if spoken in d.say), None)

    def group_by_spoken(self, spoken: str) -> NamedGroup | None:
        return next((g for g in self.groups.values() if spoken in g.say), None)

    def members(self, group: str) -> tuple[NamedDevice, ...]:
        return tuple(self.devices[m] for m in self.groups[group].members)


@dataclass(frozen=True)
class DeviceCommand:
    """A validated change for one registry device (or group)."""

    device: str
    changes: Mapping[str, Any]
    intent: str = ""


@dataclass(frozen=True)
class MqttMessage:
    topic: str
    payload: str
    qos: int = 1
    retain: bool = False


class Outcome(str, Enum):
    DONE = "done"
    UNREACHABLE = "unreachable"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    FAILED = "failed"
    ANSWERED = "answered"  # a state question, answered from the device's state
    DRY_RUN = "dry_run"

    @property
    def missed(self) -> bool:
        """The change or answer asked for did not happen (what makes `run` and `demo` exit 1)."""
        return self in (Outcome.UNREACHABLE, Outcome.REFUSED, Outcome.TIMEOUT, Outcome.FAILED)


@dataclass(frozen=True)
class DeviceOutcome:
    device: str
    outcome: Outcome
    state: Mapping[str, Any] = field(default_factory=dict)
    detail: str = ""
    echo_ms: float | None = None


@dataclass(frozen=True)
class Dispatched:
    """What one turn's intents did: the commands, the messages published, one outcome per device."""

    commands: tuple[DeviceCommand, ...]
    messages: tuple[MqttMessage, ...]
    outcomes: tuple[DeviceOutcome, ...]
    publish_ms: float = 0.0  # wall time from dispatch start until the last message was handed to the broker
    echo_ms: float = 0.0  # wall time from dispatch start until every device answered (or timed out)
    dry_run: bool = False  # nothing was published and no echo awaited: no publish_ms or echo_ms to report


@dataclass(frozen=True)
class HubAnswer:
    """What a satellite hears back from its hub about its last wake or command."""

    kind: str  # handled | not_handled | ignored (a follow-up that continued nothing) | stand_down | lost
    text: str = ""
    follow_up_ms: int = 0  # handled: listen this long for a continuation without the wake word


@dataclass(frozen=True)
class Interaction:
    """Everything one turn produced, for the JSON-lines record."""

    wake: WakeDetected | None
    utterance: Utterance | None
    transcript: Transcript | None
    intents: tuple[Intent, ...] = ()
    not_understood: NotUnderstood | None = None
    commands: tuple[DeviceCommand, ...] = ()
    messages: tuple[MqttMessage, ...] = ()
    outcomes: tuple[DeviceOutcome, ...] = ()
    timings_ms: Mapping[str, float] = field(default_factory=dict)
