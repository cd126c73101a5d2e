"""The kit's signal helpers: tones, WAV loading, measurements of a recording."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from pipecat_getstream.errors import GetstreamConfigError
from pipecat_getstream.testing.signals import (
    Recording,
    dominant_frequency,
    load_wav,
    resample,
    rms,
    silence,
    to_mono,
    tone,
)


def test_tone_has_its_frequency_length_and_level():
    samples = tone(440, 0.5, rate=16000, amplitude=10000)
    assert samples.dtype == np.int16 and len(samples) == 8000
    assert abs(dominant_frequency(samples, 16000) - 440) <= 1
    assert abs(rms(samples) - 10000 / np.sqrt(2)) < 50
    for bad in ({"freq": 0}, {"freq": 9000}, {"seconds": -1}, {"amplitude": 40000}):
        args = {"freq": 440, "seconds": 1.0, "amplitude": 100, **bad}
        with pytest.raises(GetstreamConfigError):
            tone(args["freq"], args["seconds"], rate=16000, amplitude=args["amplitude"])


def test_load_wav_mixes_down_and_converts_the_rate(tmp_path):
    path = tmp_path / "stereo.wav"
    left = tone(300, 1.0, rate=16000)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(np.column_stack([left, left]).astype(np.int16).tobytes())
    samples = load_wav(path)
    assert abs(len(samples) - 48000) <= 3
    assert abs(dominant_frequency(samples) - 300) <= 1
    eight_bit = tmp_path / "u8.wav"
    with wave.open(str(eight_bit), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(bytes(800))
    with pytest.raises(GetstreamConfigError, match="16-bit"):
        load_wav(eight_bit)


def test_to_mono_and_resample():
    interleaved = np.array([1, 3, 5, 7], dtype=np.int16)
    assert to_mono(interleaved, 2).tolist() == [2, 6]
    planar = np.array([[1, 5], [3, 7]], dtype=np.int16)
    assert to_mono(planar, 2).tolist() == [2, 6]
    assert len(resample(tone(200, 1.0, rate=8000), 8000, 48000)) == 48000
    same = tone(200, 0.1)
    assert resample(same, 48000, 48000) is same


def test_recording_measures_sound_and_silence():
    rec = Recording()
    t = 100.0
    pattern = [tone(440, 0.5), silence(0.3), tone(880, 0.2), silence(0.5)]
    for part in pattern:  # 20 ms chunks, as an SDK delivers them
        for chunk in np.split(part, len(part) // 960):
            t += 0.02
            rec.add(t, chunk)
    assert rec.heard_anything() and not rec.heard_anything(since=t - 0.4)
    assert rec.first_sound() == pytest.approx(100.02) and rec.last_sound() == pytest.approx(101.0)
    assert rec.segments() == [(0.0, 0.5), (0.8, 1.0)]
    assert abs(rec.dominant_frequency() - 440) <= 2  # the longer tone dominates
    assert abs(rec.dominant_frequency(since=100.85) - 880) <= 2
    assert rec.seconds == pytest.approx(1.5)
    assert Recording().first_sound() is None and Recording().dominant_frequency() == 0.0


def test_recording_is_bounded():
    rec = Recording(rate=1000, max_seconds=1.0)
    for i in range(30):
        rec.add(float(i), np.zeros(100, dtype=np.int16))
    assert rec.seconds <= 1.0 and rec.chunks()[0][0] == 20.0


async def test_voiced_is_speech_to_silero_from_start_to_end():
    from pipecat.audio.vad.silero import SileroVADAnalyzer
    from pipecat.audio.vad.vad_analyzer import VADState

    from pipecat_getstream.testing.signals import voiced

    speech = voiced(2.0, rate=16000)
    assert speech.dtype == np.int16 and len(speech) == 32000
    vad = SileroVADAnalyzer(sample_rate=16000)
    vad.set_sample_rate(16000)
    audio = np.concatenate([speech, np.zeros(16000, dtype=np.int16)])
    states = [await vad.analyze_audio(audio[i : i + 320].tobytes()) for i in range(0, 48000, 320)]
    await vad.cleanup()
    speaking = [n for n, s in enumerate(states) if s == VADState.SPEAKING]
    assert speaking and speaking[0] * 320 < 16000  # heard as speech within its first second
    quiet_after = next(n for n in range(speaking[-1], len(states)) if states[n] == VADState.QUIET)
    assert 32000 <= quiet_after * 320 < 32000 + 8000  # quiet only once the voice has stopped
