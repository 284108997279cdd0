"""WAV reading: every PCM flavour converts to 16 kHz mono int16; broken files give one clear error."""

import struct

import numpy as np
import pytest

from assistant.audio import Reframer, frames, read_wav
from assistant.errors import AudioError
from assistant.messages import FRAME_SAMPLES


def wav_bytes(samples: np.ndarray, rate: int, bits: int, fmt_tag: int = 1, extensible: bool = False) -> bytes:
    """Build a WAV by hand so the exact header is under test control. samples: float (-1..1), (n, ch)."""
    samples = np.atleast_2d(samples.T).T
    channels = samples.shape[1]
    if fmt_tag == 3:
        body = samples.astype("<f4").tobytes()
    elif bits == 8:
        body = np.round(samples * 127 + 128).astype(np.uint8).tobytes()
    elif bits == 16:
        body = np.round(samples * 32767).astype("<i2").tobytes()
    elif bits == 24:
        ints = np.round(samples * 8388607).astype("<i4").reshape(-1)
        body = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    else:
        body = np.round(samples * 2147483647).astype("<i4").tobytes()
    block = channels * bits // 8
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 0)
        fmt += struct.pack("<H", fmt_tag) + guid_tail
    else:
        fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block, block, bits)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def tone(rate, seconds=0.5, channels=1, freq=440.0):
    t = np.arange(int(rate * seconds)) / rate
    x = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.stack([x] * channels, axis=1)


@pytest.mark.parametrize("rate,bits,channels,tag,ext", [
    (8000, 8, 1, 1, False), (16000, 16, 1, 1, False), (44100, 24, 2, 1, False),
    (48000, 32, 2, 3, False), (22050, 32, 1, 1, False), (16000, 16, 1, 1, True), (32000, 16, 2, 1, False),
])
def test_formats_convert_to_16k_mono(tmp_path, rate, bits, channels, tag, ext):
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(tone(rate, channels=channels), rate, bits, tag, ext))
    out = read_wav(path)
    assert out.dtype == np.int16
    assert abs(len(out) - 8000) <= 2  # 0.5 s at 16 kHz
    # a 440 Hz tone at half scale survives: peak near 16384, dominant frequency 440 Hz
    assert 14000 < np.abs(out).max() < 17500
    spectrum = np.abs(np.fft.rfft(out.astype(float)))
    assert abs(np.argmax(spectrum) * 16000 / len(out) - 440) < 5


@pytest.mark.parametrize("content,reason", [
    (b"", "empty"),
    (b"hello, this is not audio at all", "not a WAV"),
    (b"RIFF\x00\x00\x00\x00WAVE", "no valid 'fmt '"),
])
def test_broken_files_one_line(tmp_path, content, reason):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError) as err:
        read_wav(path)
    assert str(path) in str(err.value) and reason in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("open_it", ["read_wav", "WavSource"])
def test_truncated_data_chunk(tmp_path, open_it):
    """Reported by read_wav, and by WavSource when it is made, before anything is played."""
    from assistant import audio

    data = wav_bytes(tone(16000), 16000, 16)
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match="truncated"):
        getattr(audio, open_it)(path)


def test_unsupported_encoding_named(tmp_path):
    path = tmp_path / "ulaw.wav"
    path.write_bytes(wav_bytes(tone(8000), 8000, 8, fmt_tag=7))
    with pytest.raises(AudioError, match="mu-law"):
        read_wav(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        read_wav(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="folder"):
        read_wav(tmp_path)


def test_frames_are_80ms_with_times():
    audio = np.arange(FRAME_SAMPLES * 2 + 100, dtype=np.int16)
    out = list(frames(audio))
    assert [f.start_ms for f in out] == [0, 80, 160]
    assert all(len(f.pcm) == FRAME_SAMPLES * 2 for f in out)


def test_reframer_matches_file_framing():
    audio = (np.random.default_rng(1).standard_normal(16000) * 1000).astype(np.int16)
    reframer = Reframer()
    live = []
    for pos in range(0, len(audio), 1000):  # a sound card's odd block size
        live += reframer.push(audio[pos:pos + 1000].tobytes())
    filed = list(frames(audio))
    assert [f.pcm for f in live] == [f.pcm for f in filed[: len(live)]]
    assert [f.start_ms for f in live] == [f.start_ms for f in filed[: len(live)]]


@pytest.mark.parametrize("rate,bits,channels", [(44100, 24, 2), (48000, 16, 2), (8000, 8, 1), (16000, 16, 1),
                                                (22050, 32, 1)])
def test_long_files_are_read_in_blocks_that_join_exactly(tmp_path, rate, bits, channels):
    """Reading 0.3 s at a time gives, sample for sample, what resampling the whole file at once gives."""
    import soxr

    from assistant.audio import wav_blocks

    noise = np.random.default_rng(rate).uniform(-0.5, 0.5, (int(rate * 2.05), channels))
    path = tmp_path / "long.wav"
    path.write_bytes(wav_bytes(noise, rate, bits))
    whole = read_wav(path)  # a single block: the file is shorter than BLOCK_S
    blocks = list(wav_blocks(path, block_s=0.3))
    assert len(blocks) == 7
    assert np.array_equal(np.concatenate(blocks), whole)
    if rate != 16000:  # and the single block is itself the plain whole-file conversion
        stored = np.frombuffer(path.read_bytes()[44:], "<i2").reshape(-1, channels) if bits == 16 else None
        if stored is not None:
            mono = (stored.astype(np.float32) / 32768.0).mean(axis=1)
            expected = soxr.resample(mono, rate, 16000, quality="HQ")
            assert np.array_equal(whole, np.clip(np.round(expected * 32767.0), -32768, 32767).astype(np.int16))


def test_wav_source_streams_the_same_frames_as_a_whole_read(tmp_path, monkeypatch):
    from assistant import audio

    noise = np.random.default_rng(5).uniform(-0.5, 0.5, (int(44100 * 1.37), 2))
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(noise, 44100, 16))
    monkeypatch.setattr(audio, "BLOCK_S", 0.25)  # blocks whose length is no multiple of a frame
    source = audio.WavSource(path)
    assert len(list(audio.wav_blocks(path))) == 6
    streamed = list(source)
    expected = list(frames(read_wav(path)))
    assert [(f.pcm, f.start_ms) for f in streamed] == [(f.pcm, f.start_ms) for f in expected]
    assert abs(source.duration_s - 1.37) < 1e-3


@pytest.mark.parametrize("rate", [48000, 44100, 22050])
def test_a_sound_card_stream_resamples_without_a_seam_at_each_block(rate):
    """80 ms blocks from a card that cannot do 16 kHz come out as if the whole stream were resampled at
    once (resampling each block alone dipped at every block edge)."""
    import soxr

    from assistant.audio import Resampler

    x = np.random.default_rng(rate).uniform(-0.5, 0.5, rate * 2).astype(np.float32)
    resampler = Resampler(rate)
    block = rate * 80 // 1000
    out = np.concatenate([resampler.push(x[i:i + block]) for i in range(0, len(x), block)])
    whole = soxr.resample(x, rate, 16000, quality="HQ")
    whole = np.clip(np.round(whole * 32767.0), -32768, 32767).astype(np.int16)
    assert 0 < len(whole) - len(out) <= 16000 * 20 // 1000  # the filter's delay: held back, not lost
    assert np.array_equal(out, whole[: len(out)])
    assert np.array_equal(np.concatenate([out, resampler.push(np.zeros(0, np.float32), last=True)]), whole)
    # and a real low-pass resampler: a 1 kHz tone keeps its level, 9 kHz (above the new 8 kHz Nyquist) goes
    t = np.arange(rate) / rate
    for hz, kept in ((1000, True), (9000, False)):
        tone = Resampler(rate).push((0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32), last=True)
        level = np.sqrt(np.mean((tone[2000:-2000].astype(np.float64) / 32767) ** 2))
        assert (level > 0.3) if kept else (level < 0.01), (hz, level)
