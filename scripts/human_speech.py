"""Real human speech from registry packages, for the ordinary-speech fixtures: the read-speech WAVs in the
moonshine-voice wheel (given as a downloaded wheel) and Debian pocketsphinx-testdata (when installed).
Each clip becomes 16 kHz int16 with a seeded -60 dBFS floor (some sources hold exact digital silence)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np
try:
    from scipy.signal import resample_poly
except ImportError:  # not part of the demo's setup: the audio-making scripts have an extra of their own
    raise SystemExit("human_speech: needs scipy (and, to make speech, the TTS voices): "
                     ".venv/bin/pip install -e '.[fixtures]'") from None

from voices import FLOOR_DBFS, SR, seed_of, to_int16

PS_TESTDATA = Path("/usr/share/pocketsphinx/test/data")
# (source file inside the wheel, cut start/end in seconds or None, text or None, text_checked)
MOONSHINE = [
    ("two_cities.wav", (0.0, 8.4), "it was the best of times it was the worst of times it was the age of wisdom "
     "it was the age of foolishness", True),
    ("two_cities.wav", (8.4, 16.95), "it was the epoch of belief it was the epoch of incredulity it was the "
     "season of light it was the season of darkness", True),
    ("beckett.wav", None, "ever tried ever failed no matter try again fail again fail better", False),
    ("clone-test.wav", None, None, False),
]
MOONSHINE_NOTE = "moonshine-voice 0.1.5 wheel, moonshine_voice/assets/ (package licence MIT; recording origin not stated)"
PS_NOTE = "Debian pocketsphinx-testdata (CMU Sphinx test data, BSD-2-Clause; librivox clips are LibriVox public-domain readings)"


def _read_wav(data: bytes) -> tuple[np.ndarray, int]:
    import io
    import wave
    with wave.open(io.BytesIO(data)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels()).mean(axis=1)
        return x / 32768.0, w.getframerate()


def _human(name: str, x: np.ndarray, rate: int) -> np.ndarray:
    x = resample_poly(x, SR, rate) if rate != SR else x
    rng = np.random.default_rng(seed_of(name))  # some sources hold exact digital silence
    return to_int16(x + rng.standard_normal(len(x)) * 10 ** (FLOOR_DBFS / 20))


def human_clips(moonshine_wheel: Path | None) -> Iterator[tuple[str, np.ndarray, dict]]:
    """(file name, int16 clip, label row) for every human recording available here."""
    if moonshine_wheel:
        with zipfile.ZipFile(moonshine_wheel) as z:
            for i, (src, cut, text, checked) in enumerate(MOONSHINE):
                x, rate = _read_wav(z.read(f"moonshine_voice/assets/{src}"))
                if cut:
                    x = x[int(cut[0] * rate): int(cut[1] * rate)]
                name = f"moonshine_{i + 1}_{Path(src).stem}.wav"
                yield name, _human(name, x, rate), {
                    "file": name, "text": text, "voice": "human", "text_checked": checked,
                    "source": f"{MOONSHINE_NOTE}: {src}" + (f" {cut[0]}-{cut[1]} s" if cut else "")}
    if PS_TESTDATA.exists():
        found = [(PS_TESTDATA / "goforward.raw", "go forward ten meters")]
        for listing in (PS_TESTDATA / "librivox" / "transcription", PS_TESTDATA / "cards" / "cards.transcription"):
            for line in listing.read_text().splitlines():  # "<s> words </s> (file id)"
                text, _, ident = line.replace("<s>", "").replace("</s>", "").rpartition("(")
                found.append((listing.parent / f"{ident.strip(') ')}.wav", " ".join(text.split())))
        for src, text in found:
            data = src.read_bytes()
            x, rate = _read_wav(data) if src.suffix == ".wav" else (np.frombuffer(data, "<i2") / 32768.0, SR)
            name = f"ps_{src.parent.name if src.parent != PS_TESTDATA else 'test'}_{src.stem}.wav"
            yield name, _human(name, x, rate), {"file": name, "text": text, "voice": "human", "text_checked": True,
                                                "source": f"{PS_NOTE}: {src.relative_to(PS_TESTDATA)}"}
