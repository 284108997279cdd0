"""`assistant listen`: the live microphone loop, with cues, one line per turn, and events on MQTT."""

from __future__ import annotations

import argparse
import json
import sys

from . import settings_from
from .devices import add_broker_args, broker_settings
from ..messages import MqttMessage

EVENT_TOPICS = {"wake": "wake", "transcript": "transcript", "intents": "intent", "result": "result",
                "outcome": "outcome"}


def register(sub, common) -> None:
    p = sub.add_parser("listen", parents=[common], help="listen to the microphone and act on commands")
    p.add_argument("--input", metavar="N|NAME", help="microphone (see 'assistant mics')")
    p.add_argument("--no-cues", action="store_true", help="no beep on wake and on result")
    p.add_argument("--speak", action="store_true", help="speak the result with espeak-ng")
    p.add_argument("--json", action="store_true", help="JSON-lines events on stdout")
    p.add_argument("--satellite-id", help="events go to assistant/<id>/... (default from config)")
    add_broker_args(p)
    p.set_defaults(func=run)


class EventPublisher:
    """Publishes pipeline events under assistant/<satellite_id>/<event> for other tools to follow."""

    def __init__(self, client, satellite_id: str):
        self.client = client
        self.prefix = f"assistant/{satellite_id}"

    def __call__(self, event: dict) -> None:
        topic = EVENT_TOPICS.get(event.get("event", ""))
        if topic is None or self.client is None:
            return
        try:
            self.client.publish(MqttMessage(f"{self.prefix}/{topic}", json.dumps(event), qos=0, retain=False))
        except Exception as exc:  # a broker hiccup must not stop listening
            print(f"warning: could not publish event: {exc}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from ..adapters.microphone import MicSource
    from ..adapters.speaker import Speaker
    from ..app import build
    from ..present import spoken_reply, turn_line

    settings = settings_from(args).with_overrides(mqtt={"satellite_id": args.satellite_id})
    mqtt = broker_settings(args, settings)
    assistant = build(settings, mqtt, say=lambda s: print(s, file=sys.stderr))
    speaker = Speaker(cues=not args.no_cues, speak=args.speak)
    events = EventPublisher(assistant.clock, settings.mqtt.satellite_id)

    def on_event(event: dict) -> None:
        if event["event"] == "wake":
            speaker.cue("wake")
            if not args.json:
                print(f"wake word {event['wake_word']} (score {event['score']:.2f}), listening...", flush=True)
        if args.json:
            print(json.dumps(event), flush=True)
        events(event)

    def on_turn(turn) -> None:
        ok = turn.not_understood is None and all(o.outcome.value in ("done", "answered") for o in turn.outcomes)
        speaker.cue("done" if ok else "error")
        speaker.say(spoken_reply(assistant.registry, turn))
        if not args.json:
            print(turn_line(assistant.registry, turn), flush=True)

    mic = MicSource(args.input)
    print(f"listening for {', '.join(settings.wake.wake_words)} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    try:
        for _ in assistant.pipeline(on_event, source="microphone", on_turn=on_turn).stream(mic):
            pass  # each turn is reported by on_turn; nothing is kept
    finally:
        if mic.overflows or mic.dropped_blocks:
            print(f"audio input overflows: {mic.overflows}, dropped blocks: {mic.dropped_blocks}", file=sys.stderr)
        assistant.close()
    return 0
