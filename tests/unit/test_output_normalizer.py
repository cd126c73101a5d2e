"""OutputNormalizer: any rate, channel count or odd length comes out at the output format."""

from __future__ import annotations

import numpy as np

from pipecat_getstream.media.timeline import OutputNormalizer
from pipecat_getstream.testing.signals import dominant_frequency, tone


def test_matching_audio_passes_through_unchanged():
    n = OutputNormalizer(16000, 1)
    audio = tone(440, 0.02, rate=16000).tobytes()
    assert n.normalize(audio, 16000, 1) == audio
    assert n.trimmed_bytes == 0


def test_a_partial_sample_is_trimmed_and_counted():
    n = OutputNormalizer(16000, 1)
    audio = tone(440, 0.02, rate=16000).tobytes()
    out = n.normalize(audio + b"\x01", 16000, 1)
    assert out == audio and n.trimmed_bytes == 1
    stereo = OutputNormalizer(16000, 2)
    assert len(stereo.normalize(bytes(4 * 10 + 3), 16000, 2)) == 40
    assert stereo.trimmed_bytes == 3


def test_other_rates_and_stereo_become_the_output_format_keeping_the_tone():
    n = OutputNormalizer(16000, 1)
    source = np.repeat(tone(440, 1.0, rate=48000), 2)  # interleaved stereo at 48 kHz
    out = b"".join(n.normalize(chunk.tobytes(), 48000, 2) for chunk in np.split(source, 50))
    out += n.normalize(b"", 16000, 1)  # back to the output format: the tail comes out
    samples = np.frombuffer(out, dtype=np.int16)
    assert abs(len(samples) - 16000) <= 320
    assert abs(dominant_frequency(samples, 16000) - 440) < 5


def test_a_rate_change_mid_stream_loses_nothing():
    n = OutputNormalizer(16000, 1)
    first = n.normalize(tone(300, 0.5, rate=24000).tobytes(), 24000, 1)
    second = n.normalize(tone(300, 0.5, rate=8000).tobytes(), 8000, 1)
    total = len(first + second) // 2
    assert abs(total - 16000) <= 320
    assert abs(dominant_frequency(np.frombuffer(first + second, np.int16), 16000) - 300) < 5
