"""Experiment only (not committed): tune_fusion with Whisper's prompt written as commands."""
import os, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
import assistant.adapters.whisper as w

def command_prompt(registry):
    verbs = {"light": "Turn on the {}.", "cover": "Open the {}.", "outlet": "Switch off the {}.",
             "purifier": "Set the {} to auto."}
    out = []
    for d in registry.devices.values():
        out.append(verbs.get(d.kind, "Turn on the {}.").format(d.spoken))
    for g in registry.groups.values():
        out.append(f"Turn off the {g.spoken}.")
    for s in registry.scenes.values():
        out.append(f"Start {s.spoken}.")
    for a in registry.areas:
        out.append(f"Dim the lights in the {a}.")
    text = " ".join(out)
    return text[0].upper() + text[1:]

w.vocabulary_prompt = command_prompt
import tune_fusion
tag = os.environ.get("EXP_TAG", "cmdprompt")
orig = tune_fusion._pairs
tune_fusion._pairs = lambda dataset, snr, cache: orig(dataset, snr, cache.with_name(cache.stem + "-" + tag + ".json"))
if __name__ == "__main__":
    from assistant.config import load_settings
    from assistant.devices.registry import load_registry
    print(command_prompt(load_registry(load_settings().config_dir)), file=sys.stderr)
    raise SystemExit(tune_fusion.main())
