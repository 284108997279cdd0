"""RNNoise (a small recurrent noise suppressor, BSD-3) through the library the PyPI wheel `pyrnnoise` ships.

Only the wheel's compiled library is used, through ctypes: the wheel's Python wrapper imports plotting
and audio-file packages the assistant does not need, so the wheel is installed with --no-deps and its
package is never imported. The model weights are compiled into the library; nothing is downloaded.

RNNoise works on 48 kHz audio in 10 ms frames; 16 kHz audio is resampled up and back down (x3).
It learns the background as it goes, so a command that starts at the first sample would lose its first
word while it does: each clip is preceded by its own quietest half second, whose output is dropped.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
from pathlib import Path

import numpy as np

from ..errors import ModelError

log = logging.getLogger(__name__)

_FRAME = 480  # 10 ms at 48 kHz
_DELAY = 2 * _FRAME  # the output lags the input by 20 ms (measured): dropped, so the timing stays true
# Resampling by 3 with a windowed-sinc low-pass (cut-off just under 8 kHz), in numpy: importing
# scipy.signal for this would add about 75 MB to the resident memory of the loop.
_TAPS = 121
_n = np.arange(_TAPS) - (_TAPS - 1) / 2
_LOWPASS = np.sinc(2 * (0.95 / 6) * _n) * np.kaiser(_TAPS, 8.0)
_LOWPASS = (_LOWPASS / _LOWPASS.sum()).astype(np.float32)
_PRIME_FRAMES = 50  # 10 ms frames of the clip's own background played first (at most a third of the clip)
_INSTALL = ".venv/bin/pip install --no-deps pyrnnoise==0.4.5"


def _library_path() -> Path:
    spec = importlib.util.find_spec("pyrnnoise")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"RNNoise is not installed; run: {_INSTALL}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "librnnoise.so"
        if path.is_file():
            return path
    raise ModelError(f"pyrnnoise is installed but has no librnnoise.so for this platform; run: {_INSTALL}")


class RNNoise:
    """denoise(int16 16 kHz samples) -> int16 samples of the same length. One clip at a time."""

    def __init__(self) -> None:
        path = _library_path()
        try:
            lib = ctypes.CDLL(str(path))
            lib.rnnoise_create.restype = ctypes.c_void_p
            lib.rnnoise_create.argtypes = [ctypes.c_void_p]
            lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
            lib.rnnoise_process_frame.restype = ctypes.c_float
            lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                                  ctypes.POINTER(ctypes.c_float)]
            if lib.rnnoise_get_frame_size() != _FRAME:
                raise OSError(f"unexpected frame size {lib.rnnoise_get_frame_size()}")
        except (OSError, AttributeError) as exc:
            raise ModelError(f"cannot load RNNoise from {path}: {exc}") from None
        self._lib = lib

    def denoise(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, np.float32)
        prime = _quietest(samples)
        x = _up3(np.concatenate([prime, samples]))
        x = np.pad(x, (0, _DELAY + -(len(x) + _DELAY) % _FRAME))
        out = np.empty_like(x)
        state = self._lib.rnnoise_create(None)
        pointer = ctypes.POINTER(ctypes.c_float)
        try:
            for i in range(0, len(x), _FRAME):
                frame = x[i:i + _FRAME]  # a contiguous view: no copy
                self._lib.rnnoise_process_frame(state, out[i:].ctypes.data_as(pointer), frame.ctypes.data_as(pointer))
        finally:
            self._lib.rnnoise_destroy(state)
        y = _down3(out[_DELAY:])[len(prime): len(prime) + len(samples)]
        return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def _up3(x: np.ndarray) -> np.ndarray:
    """16 -> 48 kHz: zeros between the samples, then the low-pass (zero phase: no delay)."""
    y = np.zeros(3 * len(x), np.float32)
    y[::3] = x
    return np.convolve(y, 3 * _LOWPASS, "same").astype(np.float32)


def _down3(x: np.ndarray) -> np.ndarray:
    """48 -> 16 kHz: the low-pass, then every third sample."""
    return np.convolve(x, _LOWPASS, "same")[::3]


def _quietest(samples: np.ndarray) -> np.ndarray:
    """The clip's quietest 10 ms frames, in their order: its background, to warm RNNoise up on."""
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    keep = min(_PRIME_FRAMES, len(frames) // 3)
    chosen = np.sort(np.argsort(np.mean(frames ** 2, axis=1), kind="stable")[:keep])
    return frames[chosen].reshape(-1)


def load_rnnoise() -> RNNoise | None:
    """RNNoise when it is installed, else None (with one log line saying how to add it)."""
    try:
        return RNNoise()
    except ModelError as exc:
        log.info("noise suppression off: %s", exc)
        return None
