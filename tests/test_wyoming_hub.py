"""`assistant hub --wyoming`: the Wyoming server over real TCP, with the `wyoming` library as the client.

The hub runs the real PocketSphinx grammar recognizer and the real matcher; the handle test switches a
simulated bridge's light through a real Mosquitto."""

from __future__ import annotations

import asyncio
import logging
import wave
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("wyoming")
from wyoming.asr import Transcribe, Transcript  # noqa: E402
from wyoming.audio import AudioChunk, AudioStart, AudioStop  # noqa: E402
from wyoming.client import AsyncTcpClient  # noqa: E402
from wyoming.error import Error  # noqa: E402
from wyoming.handle import Handled, NotHandled  # noqa: E402
from wyoming.info import Describe, Info  # noqa: E402
from wyoming.intent import Intent, NotRecognized, Recognize  # noqa: E402

from assistant.adapters.mosquitto import free_port  # noqa: E402
from assistant.adapters.wyoming import WyomingServer  # noqa: E402
from assistant.app import load_language  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.dispatcher import Dispatcher  # noqa: E402
from assistant.hub import Hub  # noqa: E402
from assistant.app import build_recognizer  # noqa: E402

COMMANDS = Path(__file__).resolve().parent / "fixtures" / "commands"
TIMEOUT_S = 20


@pytest.fixture(scope="module")
def parts():
    settings = load_settings()
    language = load_language(settings)
    return settings, language, build_recognizer(settings, language, "grammar")


def make_hub(parts, dispatcher=None) -> Hub:
    from assistant.devices.registry import load_registry

    settings, language, recognizer = parts
    registry = dispatcher.registry if dispatcher else load_registry(settings.config_dir)
    dispatcher = dispatcher or Dispatcher(registry, settings.mqtt, None)  # a dry run
    return Hub(registry, recognizer, language, dispatcher, "en")


def serve(hub: Hub, scenario, allowed=None):
    """Start the server on a free loopback port, run scenario(port), stop the server."""

    async def main():
        port = free_port()
        server = WyomingServer(hub, f"tcp://127.0.0.1:{port}", allowed, "test")
        await server.start()
        try:
            return await asyncio.wait_for(scenario(port), TIMEOUT_S)
        finally:
            await server.stop()

    return asyncio.run(main())


async def ask(port: int, *events):
    """Send events with a fresh wyoming client; the first answer back (None: the connection was closed)."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        for event in events:
            await client.write_event(event.event())
        return await client.read_event()


def wav_events(path: Path, rate: int | None = None, channels: int = 1, chunk_samples: int = 1024):
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (16000, 2, 1)
        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    if rate and rate != 16000:
        import soxr

        samples = np.round(soxr.resample(samples.astype(np.float32), 16000, rate)).astype("<i2")
    rate = rate or 16000
    pcm = np.repeat(samples[:, None], channels, axis=1).tobytes()
    step = chunk_samples * 2 * channels
    yield Transcribe(language="en")
    yield AudioStart(rate=rate, width=2, channels=channels)
    for pos in range(0, len(pcm), step):
        yield AudioChunk(rate=rate, width=2, channels=channels, audio=pcm[pos:pos + step])
    yield AudioStop()


def test_describe_answers_info_with_asr_intent_and_handle(parts):
    hub = make_hub(parts)
    event = serve(hub, lambda port: ask(port, Describe()))
    assert Info.is_type(event.type)
    info = Info.from_event(event)
    assert [m.name for m in info.asr[0].models] == ["pocketsphinx"]
    assert info.asr[0].models[0].languages == ["en"]
    assert info.intent[0].models[0].languages == ["en"]
    assert info.handle[0].models[0].languages == ["en"]


def test_recognize_text_to_intent_and_not_recognized(parts):
    hub = make_hub(parts)

    async def scenario(port):
        return (await ask(port, Recognize(text="turn on the kitchen light")),
                await ask(port, Recognize(text="what is the weather like on mars")))

    known, unknown = serve(hub, scenario)
    assert Intent.is_type(known.type)
    intent = Intent.from_event(known)
    assert intent.name == "HassTurnOn"
    assert {e.name: e.value for e in intent.entities} == {"name": "kitchen_light"}
    assert NotRecognized.is_type(unknown.type)
    assert NotRecognized.from_event(unknown).text.startswith("not understood (")


@pytest.mark.parametrize("rate,channels", [(16000, 1), (48000, 2)])
def test_audio_of_a_command_becomes_its_transcript(parts, rate, channels):
    hub = make_hub(parts)
    events = list(wav_events(COMMANDS / "turn_on_the_kitchen_light__joe.wav", rate, channels))
    event = serve(hub, lambda port: ask(port, *events))
    assert Transcript.is_type(event.type), event
    transcript = Transcript.from_event(event)
    assert transcript.text == "turn on the kitchen light"
    assert transcript.language == "en"


def test_handle_switches_the_light_through_mosquitto(parts, home):
    hub = make_hub(parts, home.dispatcher)
    assert home.simulator.bridge.states["kitchen_light"].get("state") != "ON"

    async def scenario(port):
        return (await ask(port, Transcript(text="turn on the kitchen light")),
                await ask(port, Transcript(text="make me a sandwich")))

    done, refused = serve(hub, scenario)
    assert Handled.is_type(done.type), done
    assert "done" in Handled.from_event(done).text
    assert home.simulator.bridge.states["kitchen_light"]["state"] == "ON"
    assert NotHandled.is_type(refused.type)
    assert NotHandled.from_event(refused).text.startswith("not understood (")


async def raw(port: int, data: bytes) -> bytes:
    """Bytes no Wyoming client would send, then whatever comes back until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()
    back = await reader.read()
    writer.close()
    return back


@pytest.mark.parametrize("garbage,said", [
    (b"this is not json\n", "not a JSON event"),
    (b'{"type": "audio-chunk", "payload_length": 3200}\n' + bytes(100), "payload ended after 100 of 3200"),
    (b'["a list"]\n', "malformed event"),
])
def test_malformed_event_closes_that_connection_and_the_server_serves_on(parts, caplog, garbage, said):
    hub = make_hub(parts)

    async def scenario(port):
        first = await raw(port, garbage)
        second = await ask(port, Describe())
        return first, second

    with caplog.at_level(logging.WARNING, logger="assistant.adapters.wyoming"):
        first, second = serve(hub, scenario)
    assert first == b""
    assert Info.is_type(second.type)
    lines = [r.getMessage() for r in caplog.records if r.name == "assistant.adapters.wyoming"]
    assert len(lines) == 1 and said in lines[0], lines


def test_audio_the_hub_cannot_convert_is_refused_and_the_connection_serves_on(parts, caplog):
    hub = make_hub(parts)

    async def scenario(port):
        async with AsyncTcpClient("127.0.0.1", port) as client:
            for event in (AudioStart(rate=16000, width=1, channels=1),
                          AudioChunk(rate=16000, width=1, channels=1, audio=bytes(1600)), AudioStop()):
                await client.write_event(event.event())
            refused = await client.read_event()
            await client.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=bytes(3)).event())
            odd = await client.read_event()
            await client.write_event(Recognize(text="turn off the kitchen light").event())
            return refused, odd, await client.read_event()

    with caplog.at_level(logging.WARNING, logger="assistant.adapters.wyoming"):
        refused, odd, after = serve(hub, scenario)
    assert Error.is_type(refused.type) and "8-bit" in Error.from_event(refused).text
    assert Error.is_type(odd.type) and "not whole 16-bit samples" in Error.from_event(odd).text
    assert Intent.from_event(after).name == "HassTurnOff"
    assert len([r for r in caplog.records if r.name == "assistant.adapters.wyoming"]) == 2


def test_a_peer_outside_the_allow_list_is_refused_in_one_line(parts, caplog):
    hub = make_hub(parts)

    async def outsider(port):
        try:
            return await ask(port, Describe())
        except ConnectionError:  # closed before or while the client said goodbye
            return None

    with caplog.at_level(logging.WARNING, logger="assistant.adapters.wyoming"):
        answer = serve(hub, outsider, allowed=frozenset({"192.0.2.7"}))
    assert answer is None
    lines = [r.getMessage() for r in caplog.records if r.name == "assistant.adapters.wyoming"]
    assert lines == ["refused a Wyoming connection from 127.0.0.1: not in --allow"]
    assert Info.is_type(serve(hub, lambda port: ask(port, Describe()),
                              allowed=frozenset({"127.0.0.1"})).type)


def test_the_command_refuses_to_listen_beyond_loopback_without_allow(capsys):
    from assistant.cli import main

    assert main(["hub", "--wyoming", "tcp://0.0.0.0:10700"]) == 1
    err = capsys.readouterr().err
    assert "--allow" in err and "switch the lights" in err and "Traceback" not in err


def test_audio_at_another_rate_mid_stream_is_refused_in_one_line_and_the_connection_serves_on(parts, caplog):
    hub = make_hub(parts)

    async def scenario(port):
        async with AsyncTcpClient("127.0.0.1", port) as client:
            for event in (AudioStart(rate=16000, width=2, channels=1),
                          AudioChunk(rate=16000, width=2, channels=1, audio=bytes(3200)),
                          AudioChunk(rate=48000, width=2, channels=1, audio=bytes(9600)),
                          AudioChunk(rate=16000, width=2, channels=1, audio=bytes(3200)), AudioStop()):
                await client.write_event(event.event())
            refused = await client.read_event()
            await client.write_event(Recognize(text="turn on the desk lamp").event())
            return refused, await client.read_event()

    with caplog.at_level(logging.WARNING, logger="assistant.adapters.wyoming"):
        refused, after = serve(hub, scenario)
    assert Error.is_type(refused.type)
    assert "48000 Hz" in Error.from_event(refused).text and "started at 16000 Hz" in Error.from_event(refused).text
    assert Intent.from_event(after).name == "HassTurnOn"
    assert len([r for r in caplog.records if r.name == "assistant.adapters.wyoming"]) == 1


def test_satellite_events_out_of_order_are_refused_and_the_connection_serves_on(parts, caplog):
    from wyoming.info import Attribution, Satellite
    from wyoming.wake import Detection

    hub = make_hub(parts)
    nameless = Info(satellite=Satellite(name=" ", attribution=Attribution(name="x", url=""), installed=True,
                                        description=None, version=None))

    async def scenario(port):
        async with AsyncTcpClient("127.0.0.1", port) as client:
            await client.write_event(Detection(name="hey_jarvis", context={"score": 0.9, "snr_db": 20}).event())
            before_info = await client.read_event()
            await client.write_event(nameless.event())
            no_name = await client.read_event()
            await client.write_event(Describe().event())
            return before_info, no_name, await client.read_event()

    with caplog.at_level(logging.WARNING, logger="assistant.adapters.wyoming"):
        before_info, no_name, after = serve(hub, scenario)
    assert Error.is_type(before_info.type) and "send info with a satellite first" in Error.from_event(before_info).text
    assert Error.is_type(no_name.type) and "without a satellite name" in Error.from_event(no_name).text
    assert Info.is_type(after.type)
    assert len([r for r in caplog.records if r.name == "assistant.adapters.wyoming"]) == 2
    assert hub.sessions == {}
