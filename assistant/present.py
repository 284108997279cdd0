"""Words for people: one readable line per turn, and a short spoken reply."""

from __future__ import annotations

from typing import Any, Mapping

from .devices.registry import Registry
from .devices.units import COLOR_HEX, brightness_to_percent, color_name_to_xy, mired_to_kelvin, spoken_value
from .messages import DeviceCommand, DeviceOutcome, EndReason, Interaction, Outcome


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
            case Outcome.DONE:  # the detail says where a blind that answered by moving is still going
                out.append(f"{name}: done ({state_text(o.state)}" + (f"; {o.detail})" if o.detail else ")"))
            case Outcome.ANSWERED:
                out.append(f"{name}: {o.detail}")
            case Outcome.DRY_RUN if o.detail.startswith("via "):  # a command, with the target it goes to
                out.append(f"{name}: would change (dry run)")
            case Outcome.DRY_RUN:  # a question: nothing would change
                out.append(f"{name}: {o.detail}")
            case _:
                out.append(f"{name}: {o.outcome.value}" + (f" ({o.detail})" if o.detail else ""))
    return out


def turn_line(registry: Registry, interaction: Interaction) -> str:
    u = interaction.utterance
    when = f"[{interaction.wake.time_ms / 1000:6.2f} s]" if interaction.wake else "[   -   ]"
    if u is not None and u.ended_by is EndReason.NO_SPEECH:
        return f"{when} woke, but heard no command"
    heard = interaction.transcript.text if interaction.transcript else ""
    if interaction.not_understood is not None:  # a rejected transcript is empty: no '' in quotes
        said = f"heard {heard!r}" if heard else "heard nothing it knows"
        return f"{when} {said}: not understood ({interaction.not_understood.reason})"
    intents = ", ".join(f"{i.name}({', '.join(f'{k}={v}' for k, v in i.slots.items())})" for i in interaction.intents)
    results = "; ".join(outcome_words(registry, interaction)) or "nothing to do"
    return f"{when} heard {heard!r} -> {intents} -> {results}"


def change_words(changes: Mapping[str, Any]) -> str:
    """What a change did, in a few plain words: 'on', 'at 50 percent', 'closing', 'on speed 3'."""
    words = []
    state = changes.get("state")
    if "position" in changes:
        position = changes["position"]
        words.append({0: "closing", 100: "opening"}.get(position, f"moving to {position} percent open"))
    elif state in ("OPEN", "CLOSE", "STOP"):
        words.append({"OPEN": "opening", "CLOSE": "closing", "STOP": "stopped"}[state])
    elif state == "OFF" or changes.get("fan_state") == "OFF":
        words.append("off")
    if "brightness" in changes:
        words.append(f"at {brightness_to_percent(changes['brightness'])} percent")
    step = changes.get("brightness_step", changes.get("brightness_step_onoff"))
    if step is not None:
        words.append("brighter" if step > 0 else "dimmer")
    if "color_temp" in changes:
        words.append(f"at {round(mired_to_kelvin(changes['color_temp']), -2)} kelvin")
    if "color_temp_step" in changes:
        words.append("warmer" if changes["color_temp_step"] > 0 else "cooler")  # more mired is warmer
    if isinstance(changes.get("color"), Mapping):
        xy = (changes["color"].get("x"), changes["color"].get("y"))
        words.append(next((name for name in COLOR_HEX if color_name_to_xy(name) == xy), "a new colour"))
    if "fan_mode" in changes:
        mode = str(changes["fan_mode"])
        words.append({"off": "off", "auto": "on auto"}.get(mode, f"on speed {mode}"))
    if not words and (state == "ON" or changes.get("fan_state") == "ON"):
        words.append("on")
    return " and ".join(words) or "changed"


def _did(registry: Registry, command: DeviceCommand) -> str:
    changes = command.changes
    if "scene_recall" in changes:
        scene = next((s for s in registry.scenes.values()
                      if s.group == command.device and s.scene_id == changes["scene_recall"]), None)
        return f"{scene.spoken if scene else 'the'} scene on"
    return f"{_spoken(registry, command.device)} {change_words(changes)}"


def _answer(name: str, outcome: DeviceOutcome, alone: bool) -> str:
    """'Yes, kitchen light is on', 'desk lamp is at 50%', 'blinds are 30% open'."""
    if outcome.detail in ("yes", "no"):  # 'is it on?': say what it is, and yes or no when it is the only one
        value = outcome.state.get("fan_state", outcome.state.get("state"))
        phrase = spoken_value("state", value) if value is not None else outcome.detail
        return f"{outcome.detail}, {name} {_is(name)} {phrase}" if alone else f"{name} {_is(name)} {phrase}"
    at = "at " if outcome.detail.endswith(("%", "kelvin")) else ""
    return f"{name} {_is(name)} {at}{outcome.detail}"


def _is(name: str) -> str:
    return "are" if name.endswith("s") else "is"


def _sorry(name: str, outcome: DeviceOutcome) -> str:
    """Why a device did not do it, in words that do not blame the wrong thing."""
    if outcome.outcome is Outcome.REFUSED:
        if outcome.detail.startswith(name):  # the planner's reason: 'kitchen light cannot show colours'
            return outcome.detail
        if outcome.detail.startswith("nothing there can do"):
            return "nothing there can do that"
        return f"{name} refused it"  # the bridge's error
    if outcome.outcome is Outcome.FAILED:
        return f"I could not reach {name}"
    return f"{name} did not respond"


def spoken_reply(registry: Registry, interaction: Interaction) -> str:
    """What a speaker says back: short and plain. It names each device and what it now does, so a
    misheard command is noticed at once ("kitchen light off" when you asked for brighter), answers in
    whole sentences, and says truthfully what did not happen and why."""
    u = interaction.utterance
    if u is not None and u.ended_by is EndReason.NO_SPEECH:
        return "I didn't hear a command."
    if interaction.not_understood is not None:
        return "Sorry, I didn't understand."
    done = {o.device for o in interaction.outcomes if o.outcome is Outcome.DONE}
    said = []
    for command in interaction.commands:
        group = registry.groups.get(command.device)
        covers = set(group.members) if group else {command.device}
        if covers <= done:  # every device it reached confirmed; failures are said below
            said.append(_did(registry, command))
    answers = [o for o in interaction.outcomes if o.outcome is Outcome.ANSWERED and o.detail]
    said += [_answer(_spoken(registry, o.device), o, len(answers) == 1) for o in answers]
    failed = [_sorry(_spoken(registry, o.device), o) for o in interaction.outcomes
              if o.outcome in (Outcome.UNREACHABLE, Outcome.REFUSED, Outcome.TIMEOUT, Outcome.FAILED)]
    if failed:
        said.append("sorry, " + ", ".join(dict.fromkeys(failed)))
    if said:
        text = ", ".join(said)
        return text[0].upper() + text[1:] + "."
    if any(i.name == "HassNevermind" for i in interaction.intents):
        return "Okay."
    return "Done."
