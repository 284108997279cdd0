"""Words for people: one readable line per turn, and a short spoken reply."""

from __future__ import annotations

from typing import Any, Mapping

from .devices.registry import Registry
from .messages import EndReason, Interaction, Outcome


def _spoken(registry: Registry, name: str) -> str:
    thing = registry.devices.get(name) or registry.groups.get(name)
    return thing.spoken if thing else name


def state_text(state: Mapping[str, Any]) -> str:
    if not state:
        return "no state yet"
    keys = ("state", "brightness", "color_temp", "color", "position", "fan_mode", "pm25")
    parts = []
    for k in keys:
        if k in state and state[k] is not None:
            v = state[k]
            if k == "color" and isinstance(v, Mapping):
                v = "x={:.3f},y={:.3f}".format(v.get("x", 0), v.get("y", 0)) if "x" in v else v.get("hex", v)
            parts.append(f"{k}={v}")
    return " ".join(parts)


def outcome_words(registry: Registry, interaction: Interaction) -> list[str]:
    out = []
    for o in interaction.outcomes:
        name = _spoken(registry, o.device)
        match o.outcome:
            case Outcome.DONE:
                out.append(f"{name}: done ({state_text(o.state)})")
            case Outcome.ANSWERED:
                out.append(f"{name}: {o.detail}")
            case Outcome.DRY_RUN:
                out.append(f"{name}: would change (dry run)")
            case _:
                out.append(f"{name}: {o.outcome.value}" + (f" ({o.detail})" if o.detail else ""))
    return out


def turn_line(registry: Registry, interaction: Interaction) -> str:
    u = interaction.utterance
    when = f"[{interaction.wake.time_ms / 1000:6.2f} s]" if interaction.wake else "[   -   ]"
    if u is not None and u.ended_by is EndReason.NO_SPEECH:
        return f"{when} woke, but heard no command"
    heard = interaction.transcript.text if interaction.transcript else ""
    if interaction.not_understood is not None:
        return f"{when} heard {heard!r}: not understood ({interaction.not_understood.reason})"
    intents = ", ".join(f"{i.name}({', '.join(f'{k}={v}' for k, v in i.slots.items())})" for i in interaction.intents)
    results = "; ".join(outcome_words(registry, interaction)) or "nothing to do"
    return f"{when} heard {heard!r} -> {intents} -> {results}"


def spoken_reply(registry: Registry, interaction: Interaction) -> str:
    """What a speaker says back: short, plain, and honest about failures."""
    u = interaction.utterance
    if u is not None and u.ended_by is EndReason.NO_SPEECH:
        return "I didn't hear a command."
    if interaction.not_understood is not None:
        return "Sorry, I didn't understand."
    answers = [o.detail for o in interaction.outcomes if o.outcome is Outcome.ANSWERED and o.detail]
    failed = [_spoken(registry, o.device) for o in interaction.outcomes
              if o.outcome in (Outcome.UNREACHABLE, Outcome.REFUSED, Outcome.TIMEOUT, Outcome.FAILED)]
    if failed:
        return f"Sorry, {' and '.join(failed)} did not respond."
    if answers:
        return ", ".join(answers) + "."
    if any(i.name == "HassNevermind" for i in interaction.intents):
        return "Okay."
    return "Done."
