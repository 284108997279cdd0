"""The core imports and works with every heavy dependency absent (they live in adapters only)."""

import subprocess
import sys

HEAVY = ["openwakeword", "onnxruntime", "vosk", "pocketsphinx", "paho", "amqtt", "sounddevice", "hassil",
         "faster_whisper", "ctranslate2"]

CODE = f"""
import sys
for name in {HEAVY!r}:
    sys.modules[name] = None  # any import of it now raises ImportError
import assistant.messages, assistant.errors, assistant.config, assistant.audio, assistant.listener
import assistant.wake, assistant.pipeline, assistant.manifest, assistant.models, assistant.devices.registry
import assistant.interfaces, assistant.dispatch_steps, assistant.dispatch_session, assistant.dispatcher, assistant.app
from assistant.devices.registry import load_registry
from assistant.config import load_settings
s = load_settings()
load_registry(s.config_dir)
print("ok")
"""


def test_core_without_heavy_dependencies():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_wake_adapter_does_not_load_scikit_learn():
    """openwakeword's verifier trainer (scikit-learn, ~100 MB resident) stays out of the assistant."""
    code = ("import sys\nfrom assistant.adapters.openwakeword import import_openwakeword\n"
            "Model, VAD = import_openwakeword()\nprint('sklearn' in sys.modules, Model.__name__, VAD.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "Model", "VAD"]
