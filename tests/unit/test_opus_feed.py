"""The aiortc stack's 48 kHz feed: sample-exact pacing, whole frames, the tone kept."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip(
    "getstream.video.rtc.connection_utils",
    reason="the 48 kHz feed belongs to the aiortc stack (SDK 3.x-6.x); this SDK is 7.x, "
    "whose Rust core encodes at its own rate",
)
from pipecat_getstream.stacks.aiortc.opus_feed import OPUS_RATE, Feed48k  # noqa: E402


def tone(rate: int, secs: float, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * secs)) / rate
    mono = (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return np.repeat(mono, channels) if channels > 1 else mono


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
@pytest.mark.parametrize("channels", [1, 2])
def test_every_20ms_in_gives_20ms_out(rate: int, channels: int) -> None:
    feed = Feed48k(rate, channels)
    audio = tone(rate, 2.0, channels=channels)
    per = rate // 50 * channels
    sizes = [
        len(feed.convert(audio[i : i + per].tobytes())) // 2 // channels
        for i in range(0, len(audio), per)
    ]
    # The first chunk is padded with the resampler's delay: no partial frame ever waits.
    assert sizes == [OPUS_RATE // 50] * 100


def test_the_tone_survives_and_the_lead_is_the_resampler_delay() -> None:
    feed = Feed48k(16000, 1)
    audio = tone(16000, 1.0, freq=1000.0)
    out = np.concatenate(
        [
            np.frombuffer(feed.convert(audio[i : i + 320].tobytes()), dtype=np.int16)
            for i in range(0, len(audio), 320)
        ]
    )
    lead = int(np.flatnonzero(np.abs(out) > 2000)[0])
    assert 0 < lead < 96  # under 2 ms of silence leads the stream
    spectrum = np.abs(np.fft.rfft(out[4800:]))
    assert abs(np.argmax(spectrum) * OPUS_RATE / len(out[4800:]) - 1000.0) < 5


def test_reset_starts_a_new_padded_stream() -> None:
    feed = Feed48k(16000, 1)
    chunk = tone(16000, 0.02).tobytes()
    for _ in range(5):
        assert len(feed.convert(chunk)) == 960 * 2
    feed.reset()
    assert len(feed.convert(chunk)) == 960 * 2
