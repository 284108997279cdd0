"""Audible feedback: short cues through sounddevice, optional spoken replies through espeak-ng."""

from __future__ import annotations

import logging
import shutil
import subprocess

import numpy as np

log = logging.getLogger(__name__)
RATE = 16000
CUES = {"wake": (880.0, 0.12), "done": (660.0, 0.10), "error": (220.0, 0.25)}


def cue_samples(kind: str) -> np.ndarray:
    freq, seconds = CUES[kind]
    t = np.arange(int(RATE * seconds)) / RATE
    envelope = np.minimum(1.0, np.minimum(t, seconds - t) / 0.01)  # 10 ms fades: no clicks
    return (0.3 * envelope * np.sin(2 * np.pi * freq * t)).astype(np.float32)


class Speaker:
    def __init__(self, cues: bool = True, speak: bool = False):
        self.cues = cues
        self.espeak = shutil.which("espeak-ng") if speak else None
        if speak and self.espeak is None:
            log.warning("espeak-ng is not installed; spoken replies are off (apt-get install espeak-ng)")
        self._sd = None
        if cues:
            try:
                import sounddevice as sd

                self._sd = sd
            except (ImportError, OSError) as exc:
                log.warning("no audio output for cues (%s)", exc)

    def cue(self, kind: str) -> None:
        if self._sd is None:
            return
        try:
            self._sd.play(cue_samples(kind), RATE)  # returns at once; plays in the background
        except Exception as exc:  # PortAudio errors: a missing speaker must not stop the assistant
            log.warning("cannot play cue: %s", exc)

    def say(self, text: str) -> None:
        if self.espeak is None or not text:
            return
        # argument list, never a shell: the text comes from device names and transcripts
        subprocess.Popen([self.espeak, "-v", "en-us", "-s", "165", "--", text],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
