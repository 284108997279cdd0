"""Silero VAD (the copy shipped with openWakeWord's model set) as speech probability per 80 ms frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..messages import AudioFrame
from ..manifest import require


class SileroVad:
    def __init__(self, models_dir: Path):
        path = require("silero_vad", models_dir)
        from .openwakeword import import_openwakeword

        _, VAD = import_openwakeword()
        try:
            self._vad = VAD(model_path=str(path), n_threads=1)
        except Exception as exc:  # onnxruntime's own error types
            raise ModelError(f"cannot load {path}: {str(exc).splitlines()[0][:200]}") from None

    def reset(self) -> None:
        self._vad.reset_states()

    def probability(self, frame: AudioFrame) -> float:
        # Two 40 ms windows per 80 ms frame; silero was trained on 30-100 ms chunks.
        return float(self._vad.predict(np.frombuffer(frame.pcm, dtype=np.int16), frame_size=640))
