"""openWakeWord through onnxruntime: raw scores per 80 ms frame, no detection policy here.

openwakeword is installed without its tflite dependency, so everything runs on its ONNX path with
explicit feature-model paths (melspectrogram, embedding) from our models folder.
"""

from __future__ import annotations

import logging
import re
import sys
import types
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..messages import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, AudioFrame, WakeScores
from ..manifest import Manifest, load_manifest, models_command, require

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WakeModelFile:
    name: str  # what detections are called: manifest name ("alexa") or the custom file's stem
    path: Path
    custom: bool = False  # a file given by path: `assistant models verify` knows nothing of it


def resolve_wake_words(names_or_paths: list[str] | tuple[str, ...], models_dir: Path,
                       manifest: Manifest | None = None) -> list[WakeModelFile]:
    """'alexa' resolves through the manifest; anything that looks like a path is a custom model file."""
    manifest = manifest or load_manifest()
    out = []
    for item in names_or_paths:
        path = Path(item)
        if item in manifest.models and manifest.models[item].kind == "wake_word":
            out.append(WakeModelFile(item, require(item, models_dir, manifest)))
            continue
        if path.suffix in (".onnx", ".tflite") or "/" in item:
            if not path.is_file():
                raise ModelError(f"wake-word model file {item} not found")
            if path.suffix == ".tflite":
                try:
                    import tflite_runtime  # noqa: F401
                except ImportError:
                    raise ModelError(f"{item}: .tflite models need tflite-runtime, which is not installed; "
                                     "use the .onnx version of the model") from None
            elif path.suffix != ".onnx":
                raise ModelError(f"{item}: wake-word models must be .onnx (or .tflite)")
            out.append(WakeModelFile(path.stem, path, custom=True))
            continue
        known = [m.name for m in manifest.models.values() if m.kind == "wake_word"]
        raise ModelError(f"unknown wake word {item!r}; use one of {', '.join(known)} or a path to a .onnx model")
    if not out:
        raise ModelError("no wake word configured")
    return out


# What openWakeWord feeds a wake-word model: the last N frames of 96 embedding features each.
_EMBEDDING_FEATURES = 96
_EXPECTED = (f"one input [batch, frames, {_EMBEDDING_FEATURES}] of openWakeWord's embedding features "
             "and one output [batch, scores]")


def _shape(dims) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"


def check_wake_model(wake: WakeModelFile) -> None:
    """Refuse an ONNX file that is not an openWakeWord wake-word model, before openwakeword takes it.

    openwakeword loads any ONNX file and only fails on the first frame, deep inside (int('samples') for
    melspectrogram.onnx, onnxruntime's 'Invalid rank' for embedding_model.onnx); the input shape says it
    at once.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.inter_op_num_threads = options.intra_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(wake.path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for corrupt files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"cannot load wake-word model {wake.path} ({reason[-160:]}); "
                         f"{_CUSTOM_FIX if wake.custom else _stock_fix(wake.path.parent)}") from None
    inputs, outputs = session.get_inputs(), session.get_outputs()
    problem = None
    if len(inputs) != 1:
        problem = "its inputs are " + ", ".join(f"{i.name} {_shape(i.shape)}" for i in inputs)
    elif (len(inputs[0].shape) != 3 or inputs[0].shape[2] != _EMBEDDING_FEATURES
          or not isinstance(inputs[0].shape[1], int) or inputs[0].type != "tensor(float)"):
        kind = "" if inputs[0].type == "tensor(float)" else f" of {inputs[0].type}"
        problem = f"its input is {_shape(inputs[0].shape)}{kind}"
    elif not outputs or len(outputs[0].shape) != 2 or not isinstance(outputs[0].shape[1], int):
        problem = "its output is " + (_shape(outputs[0].shape) if outputs else "missing")
    if problem:
        raise ModelError(f"{wake.path} is not an openWakeWord wake-word model ({problem}; expected {_EXPECTED}); "
                         "give a wake word's name (hey_jarvis, alexa, ...) or a model trained with openWakeWord")


_CUSTOM_FIX = "the file is damaged or not ONNX: copy it again, or export it again from openWakeWord's training"


def _stock_fix(models_dir: Path) -> str:
    return f"check the files with '{models_command('verify', models_dir)}'"


_VERIFIER = "openwakeword.custom_verifier_model"


def import_openwakeword():
    """Import openwakeword's Model and VAD without the custom-verifier trainer.

    openwakeword's package __init__ imports its verifier *training* code, which pulls in scikit-learn:
    about 100 MB of resident memory for a feature the assistant never uses (on a Raspberry Pi that
    matters). A placeholder module stands in for it; calling it says how to get the real one.
    """
    if _VERIFIER not in sys.modules and "sklearn" not in sys.modules:
        placeholder = types.ModuleType(_VERIFIER)

        def train_custom_verifier(*args, **kwargs):
            raise ModelError("openwakeword's verifier training is not loaded by the assistant; "
                             "import openwakeword in a separate Python process to train one")

        placeholder.train_custom_verifier = train_custom_verifier
        sys.modules[_VERIFIER] = placeholder
    # openwakeword.utils imports tqdm and requests at the top, for its download and training helpers only
    # (about 5 MB resident, and nothing here may download). Empty stand-ins serve that import and are taken
    # away right after it, so a real import of either later still works.
    stand_ins = [] if "openwakeword.utils" in sys.modules else [m for m in ("tqdm", "requests") if m not in sys.modules]
    for name in stand_ins:
        sys.modules[name] = types.ModuleType(name)
        sys.modules[name].tqdm = None
    try:
        from openwakeword.model import Model
        from openwakeword.vad import VAD
    except ImportError as exc:
        raise ModelError(f"openwakeword is not installed ({exc}); run scripts/setup.sh") from None
    finally:
        for name in stand_ins:
            sys.modules.pop(name, None)
    return Model, VAD


# The openwakeword release whose internals OpenWakeWordScorer._lean_on_memory() knows; setup.sh pins it.
# Any other version runs exactly as openwakeword ships, only with more memory.
_KNOWN_VERSION = "0.6.0"


def _known_internals() -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("openwakeword") == _KNOWN_VERSION
    except PackageNotFoundError:
        return False


class OpenWakeWordScorer:
    """Streams 80 ms frames into openWakeWord and returns raw scores keyed by wake-word name."""

    def __init__(self, wake_words: list[WakeModelFile], models_dir: Path, prime_ms: int = 1360):
        Model, _ = import_openwakeword()
        manifest = load_manifest()
        melspec = require("melspectrogram", models_dir, manifest)
        embedding = require("embedding", models_dir, manifest)
        tflite = any(w.path.suffix == ".tflite" for w in wake_words)
        if tflite and any(w.path.suffix == ".onnx" for w in wake_words):
            raise ModelError("cannot mix .onnx and .tflite wake-word models in one run")
        framework = "tflite" if tflite else "onnx"
        feature_suffix = ".tflite" if tflite else ".onnx"
        for wake in wake_words:
            if wake.path.suffix == ".onnx":
                check_wake_model(wake)
        paths = [str(w.path) for w in wake_words]  # openwakeword mutates the list it gets
        try:
            self._model = Model(
                wakeword_models=paths,
                inference_framework=framework,
                melspec_model_path=str(melspec.with_suffix(feature_suffix)),
                embedding_model_path=str(embedding.with_suffix(feature_suffix)),
            )
        except Exception as exc:  # onnxruntime raises its own types for corrupt files
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            # onnxruntime names the file it could not read; it may be a feature model, not a wake word
            culprit = re.search(r"Load model from (\S+) failed", reason)
            what = culprit.group(1) if culprit else "wake-word model(s) " + ", ".join(str(w.path) for w in wake_words)
            raise ModelError(f"cannot load {what} ({reason[-160:]}); {_stock_fix(models_dir)}") from None
        self._start_features: np.ndarray | None = None
        self._lean = not tflite and _known_internals()
        if self._lean:
            self._lean_on_memory(melspec.with_suffix(".onnx"), embedding.with_suffix(".onnx"))
        # Score keys are file stems; report them under the names people asked for.
        self._names = {w.path.stem: w.name for w in wake_words}
        self.names = tuple(w.name for w in wake_words)
        self.prime_ms = prime_ms
        self.reset()

    def _lean_on_memory(self, melspec: Path, embedding: Path) -> None:
        """Same scores, about 60 MB less resident memory (scripts/bench_loop.py) and about a quarter less
        wake CPU (scripts/bench.py --stages wake).

        - openwakeword starts by pushing 4 s of noise through the embedding model as one batch of 41
          windows, and again on every reset; onnxruntime's memory arena keeps what that batch needed for
          good. Fresh sessions of the same two models (one thread each, as openwakeword makes them) start
          small, and reset() below never batches.
        - openwakeword keeps the last 10 s of audio as Python ints and copies all of them to a list on
          every frame, yet reads only the last 1280 + 480 samples: one second is plenty.
        """
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.inter_op_num_threads = options.intra_op_num_threads = 1
        features = self._model.preprocessor
        for attr, path in (("melspec_model", melspec), ("embedding_model", embedding)):
            setattr(features, attr, ort.InferenceSession(str(path), sess_options=options,
                                                         providers=["CPUExecutionProvider"]))
        features.raw_data_buffer = deque(maxlen=SAMPLE_RATE)

    def prime(self) -> None:
        """Run a quiet noise floor through the model so the unreliable warm-up frames fall before real audio."""
        rng = np.random.default_rng(0)  # same primer every time: identical audio gives identical scores
        for _ in range(self.prime_ms // FRAME_MS):
            noise = (rng.standard_normal(FRAME_SAMPLES) * 30).astype(np.int16)
            self._model.predict(noise)
        for key in self._model.prediction_buffer:
            self._model.prediction_buffer[key].clear()

    def reset(self) -> int:
        """Forget all audio context. Returns how much audio time the priming covered (ms)."""
        if not self._lean:
            with _seeded_numpy():
                self._model.reset()
        else:  # what Model.reset() does, with its starting features computed once, one window at a time
            if self._start_features is None:
                self._start_features = self._noise_features()
            features = self._model.preprocessor
            self._model.prediction_buffer.clear()
            features.raw_data_buffer.clear()
            features.melspectrogram_buffer = np.ones((76, 32))
            features.accumulated_samples = 0
            features.raw_data_remainder = np.empty(0)
            features.feature_buffer = self._start_features.copy()
        self.prime()
        return self.prime_ms

    def _noise_features(self) -> np.ndarray:
        """The embeddings openwakeword's reset starts from (4 s of noise from numpy's global generator, which
        is seeded here so runs repeat), computed window by window: the same numbers as its one batch."""
        features = self._model.preprocessor
        with _seeded_numpy():
            noise = np.random.randint(-1000, 1000, SAMPLE_RATE * 4).astype(np.int16)
        spec = features._get_melspectrogram(noise)
        windows = [spec[i:i + 76] for i in range(0, len(spec) - 75, 8)]
        return np.vstack([features.embedding_model_predict(w[None, :, :, None].astype(np.float32)) for w in windows])

    def score(self, frame: AudioFrame) -> WakeScores:
        raw = self._model.predict(np.frombuffer(frame.pcm, dtype=np.int16))
        return WakeScores(frame.end_ms, {self._names.get(k, k): float(v) for k, v in raw.items()})


@contextmanager
def _seeded_numpy():
    """numpy's global generator seeded with 0 inside the block, and as it was afterwards."""
    saved = np.random.get_state()
    np.random.seed(0)
    try:
        yield
    finally:
        np.random.set_state(saved)
