"""StreamResampler: FFmpeg's conversion, continuous across frames, and no per-frame leak."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

from pipecat_getstream.media.resample import StreamResampler
from pipecat_getstream.media.timeline import ParticipantResampler


def tone(freq: float, rate: int, secs: float) -> np.ndarray:
    t = np.arange(int(rate * secs)) / rate
    return (np.sin(2 * np.pi * freq * t) * 8000).astype(np.int16)


def dominant(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def feed(resampler: StreamResampler, audio: np.ndarray, rate: int, chunk: int) -> np.ndarray:
    out = [resampler.resample(audio[i : i + chunk], rate, 1) for i in range(0, len(audio), chunk)]
    return np.concatenate(out)


@pytest.mark.parametrize("out_rate", [8000, 16000, 24000, 44100])
def test_converts_a_tone_continuously(out_rate: int) -> None:
    audio = tone(440.0, 48000, 2.0)
    out = feed(StreamResampler(out_rate), audio, 48000, 960)
    # All but the filter's few samples of delay come out, and the tone is intact.
    assert abs(len(out) - 2.0 * out_rate) <= 64
    assert dominant(out, out_rate) == pytest.approx(440.0, abs=2.0)
    # No discontinuity at frame edges: sample-to-sample steps stay those of a smooth sine.
    steps = np.abs(np.diff(out[200:].astype(np.int32)))
    assert steps.max() < 8000 * 2 * np.pi * 440 / out_rate * 1.5


def test_rate_and_layout_changes_mid_stream() -> None:
    resampler = StreamResampler(16000)
    first = feed(resampler, tone(440.0, 48000, 0.5), 48000, 960)
    stereo = np.repeat(tone(880.0, 24000, 0.5), 2)  # interleaved L, R
    second = np.concatenate(
        [resampler.resample(stereo[i : i + 960], 24000, 2) for i in range(0, len(stereo), 960)]
    )
    assert abs(len(first) - 8000) <= 64 and abs(len(second) - 8000) <= 64
    assert dominant(second, 16000) == pytest.approx(880.0, abs=4.0)


def test_participant_resampler_passes_matching_audio_through() -> None:
    resampler = ParticipantResampler(16000)
    samples = tone(300.0, 16000, 0.02)
    assert resampler.convert(samples, 16000, 1) == samples.tobytes()


def test_no_memory_retained_per_frame() -> None:
    resampler = StreamResampler(16000)
    frame = tone(440.0, 48000, 0.02)
    for _ in range(200):
        resampler.resample(frame, 48000, 1)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(5000):
            resampler.resample(frame, 48000, 1)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    # PyAV's AudioResampler keeps 81 bytes per call here (405 KB over 5000 frames).
    assert grown < 5000 * 4, f"{grown} bytes retained over 5000 frames"
