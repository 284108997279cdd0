"""`assistant satellite --hub HOST:PORT --name NAME --area AREA [--input N | --wav FILE ...]`: the wake word
and the end of each command heard here (the same listener as `listen`), the command's audio sent to the
hub, the hub's answer printed (and cued or spoken)."""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from typing import Callable, Iterable, Iterator

from . import settings_from, stop_on_sigterm
from .devices import parse_broker
from ..errors import ConfigError
from ..messages import FRAME_SAMPLES, AudioFrame

SILENCE = (b"\x00\x00\x01\x00" * (FRAME_SAMPLES // 2))  # a -90 dBFS floor: exact zeros upset some models
DRAIN_S = 30.0  # after the last WAV: how long to wait at most for the hub's last answer or a follow-up window


def register(sub, common) -> None:
    p = sub.add_parser("satellite", parents=[common], help="a room's microphone: wake word here, the rest on a hub",
                       description="Listens for the wake word and the end of each command here, sends only the "
                                   "command's audio to the hub (assistant hub) over Wyoming and reports its "
                                   "answer. Without the hub it keeps listening, says so once and reconnects.")
    p.add_argument("--hub", required=True, metavar="HOST:PORT", help="the hub's Wyoming address, e.g. 192.168.1.5:10700")
    p.add_argument("--name", required=True, help="this satellite's name (one per room), e.g. bedroom")
    p.add_argument("--area", help="the area it is in (an area of devices.yaml): 'the lights' and 'in here' mean it")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--input", metavar="N|NAME", help="microphone (see 'assistant mics')")
    source.add_argument("--wav", nargs="+", metavar="FILE", help="replay WAV files in real time instead")
    p.add_argument("--no-cues", action="store_true", help="no beep on wake and on the answer")
    p.add_argument("--speak", action="store_true", help="speak the answer with espeak-ng")
    p.set_defaults(func=run)


def paced(frames: Iterable[AudioFrame], start: float | None = None) -> Iterator[AudioFrame]:
    """Frames no faster than real time: a replayed WAV behaves as a microphone would."""
    start = time.monotonic() if start is None else start
    for frame in frames:
        delay = start + frame.end_ms / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield frame


def wav_frames(paths: list[str], busy: Callable[[], bool], drain_s: float = DRAIN_S,
               start_ms: int = 0) -> Iterator[AudioFrame]:
    """The files one after another on one audio clock (from start_ms), then quiet frames while a turn is
    still open."""
    from ..audio import WavSource

    sources = [WavSource(p) for p in paths]  # a bad file is reported before anything is sent
    offset = start_ms
    tail, last_pcm = SILENCE, SILENCE
    for source in sources:
        last = offset
        for frame in source:
            last = offset + frame.end_ms
            tail, last_pcm = last_pcm, frame.pcm  # the one before the last: the last may be padded with zeros
            yield AudioFrame(frame.pcm, offset + frame.start_ms)
        offset = last
    for i in itertools.count():  # the room goes on sounding as the recording ended: its last whole frame again
        at = offset + i * 80
        if not busy() or i * 0.08 > drain_s:
            return
        yield AudioFrame(tail, at)


def build_satellite(settings, hub: tuple[str, int], name: str, area: str | None,
                    say: Callable[[str], None], report, on_wake=lambda wake: None, retry_s: float = 1.0):
    """The satellite's parts: its own wake scorer and VAD (nothing shared with another satellite), the
    listener, the link to the hub. Returns (loop, link); link.close() when done."""
    from ..adapters.openwakeword import OpenWakeWordScorer, resolve_wake_words
    from ..adapters.silero_vad import SileroVad
    from ..adapters.wyoming_link import HubLink
    from ..hearing import Ears
    from ..listener import Listener
    from ..satellite import SatelliteLoop
    from ..wake import WakePolicy

    scorer = OpenWakeWordScorer(resolve_wake_words(settings.wake.wake_words, settings.models_dir),
                                settings.models_dir, settings.wake.warmup_ms)
    policy = WakePolicy(settings.wake)
    policy.reset(-scorer.reset())
    ears = Ears(scorer, policy, Listener(settings.listener, SileroVad(settings.models_dir)))
    link = HubLink(hub[0], hub[1], name, area, say=say, retry_s=retry_s).start()
    return SatelliteLoop(ears, link, report, on_wake), link


def run(args: argparse.Namespace) -> int:
    from ..adapters.speaker import Speaker

    try:
        host, port = parse_broker(args.hub, 10700)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("--broker", "--hub").replace(":1883", ":10700")) from None
    if not args.name.strip():
        raise ConfigError("--name is empty; give the satellite a name such as bedroom")
    settings = settings_from(args)
    area = args.area if args.area is not None else settings.satellite.area
    speaker = Speaker(cues=not args.no_cues and not args.wav, speak=args.speak)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def report(r) -> None:
        speaker.cue("done" if r.kind == "handled" else "error")
        speaker.say(r.text)
        more = " (listening for a follow-up)" if r.follow_up else ""
        print(f"{args.name}: {r.kind.replace('_', ' ')}: {r.text}{more}", flush=True)

    def on_wake(wake) -> None:
        speaker.cue("wake")
        snr = "" if wake.snr_db is None else f", {wake.snr_db:.0f} dB over the background"
        print(f"{args.name}: wake word {wake.wake_word} (score {wake.score:.2f}{snr})", flush=True)

    loop, link = build_satellite(settings, (host, port), args.name.strip(), area, say, report, on_wake)
    stop_on_sigterm()
    try:
        if args.wav:
            frames = paced(wav_frames(args.wav, lambda: loop.busy))
        else:
            from ..adapters.microphone import MicSource

            frames = MicSource(args.input)
        say(f"satellite {args.name} (area {area or 'unset'}) -> hub {host}:{port}; listening for "
            f"{', '.join(settings.wake.wake_words)}")
        loop.run(frames)
    finally:
        link.close()
    return 0
