"""Test signals and what a listener measures in them.

Pure numpy: tones to say, WAV files to load, and :class:`Recording`, the audio a
:class:`~pipecat_getstream.testing.SimulatedParticipant` heard from one speaker, with the
measurements a test asserts on (heard anything, dominant frequency, speech and silence
segments, first and last sound). Samples are mono int16 at :data:`SAMPLE_RATE` unless said
otherwise; times are seconds on the ``time.monotonic()`` clock.
"""

from __future__ import annotations

import asyncio
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pipecat_getstream.errors import GetstreamConfigError

#: The sample rate of what a simulated participant says and records.
SAMPLE_RATE = 48000
#: RMS (s16 scale) above which a block of audio counts as sound rather than silence.
LOUD_RMS = 300.0
#: Length in seconds of the blocks that :meth:`Recording.segments` classifies.
BLOCK_SECONDS = 0.02


def tone(
    freq: float, seconds: float, *, rate: int = SAMPLE_RATE, amplitude: int = 8000
) -> np.ndarray:
    """A sine tone as mono int16 samples.

    Args:
        freq: Frequency in Hz (above 0, below half the rate).
        seconds: Duration (0 or more).
        rate: Sample rate in Hz.
        amplitude: Peak amplitude, 0 to 32767.

    Raises:
        GetstreamConfigError: On an out-of-range argument.

    """
    if not 0 < freq < rate / 2:
        raise GetstreamConfigError(f"tone frequency must be in (0, {rate / 2}) Hz, got {freq}")
    if seconds < 0:
        raise GetstreamConfigError(f"tone duration must be 0 or more, got {seconds}")
    if not 0 <= amplitude <= 32767:
        raise GetstreamConfigError(f"tone amplitude must be in [0, 32767], got {amplitude}")
    t = np.arange(int(round(rate * seconds))) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def silence(seconds: float, *, rate: int = SAMPLE_RATE) -> np.ndarray:
    """``seconds`` of digital silence as mono int16 samples."""
    return np.zeros(int(round(rate * max(0.0, seconds))), dtype=np.int16)


def voiced(seconds: float, *, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A synthetic voice saying vowels, which a speech VAD (Pipecat's Silero) takes as speech.

    Harmonics of a wavering pitch near 120 Hz, shaped by the formants of four vowels in
    turn (0.3 s each) and by a syllable-rate envelope; loud (half of full scale) and
    deterministic. A pure tone is not speech to a VAD; this is, from start to end.

    Args:
        seconds: Duration (0 or more).
        rate: Sample rate in Hz (8 kHz or more).

    """
    n = int(round(rate * max(0.0, seconds)))
    t = np.arange(n) / rate
    pitch = 120 + 15 * np.sin(2 * np.pi * 0.7 * t) + 4 * np.sin(2 * np.pi * 5.5 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    vowels = np.array([(700, 1220, 2600), (300, 2300, 3000), (500, 900, 2400), (400, 1900, 2550)])
    formants = vowels[(t / 0.3).astype(int) % len(vowels)]
    out = np.zeros(n)
    for k in range(1, 34):
        gain = 0.02 + sum(
            np.exp(-(((k * pitch - formants[:, j]) / (90 + 40 * j)) ** 2) / 2) / (j + 1)
            for j in range(3)
        )
        out += gain / np.sqrt(k) * np.sin(k * phase)
    out *= 0.3 + 0.7 * np.abs(np.sin(np.pi * t / 0.3))
    peak = np.abs(out).max() if n else 1.0
    return (out / peak * 16383).astype(np.int16)


def load_wav(path: str | Path, *, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A 16-bit PCM WAV file as mono int16 samples at ``rate``.

    Stereo is mixed down; another sample rate is converted (linear interpolation, which
    is plenty for test speech).

    Raises:
        GetstreamConfigError: When the file is not 16-bit PCM.

    """
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise GetstreamConfigError(f"{path}: expected 16-bit PCM, got {wav.getsampwidth()}")
        channels, source_rate = wav.getnchannels(), wav.getframerate()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return resample(to_mono(data, channels), source_rate, rate)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Mono int16 samples converted from ``from_rate`` to ``to_rate`` (linear interpolation)."""
    if from_rate == to_rate or len(samples) == 0:
        return samples
    positions = np.arange(int(len(samples) * to_rate / from_rate)) * from_rate / to_rate
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.int16)


def to_mono(samples: np.ndarray, channels: int) -> np.ndarray:
    """Interleaved (or ``(channels, n)``) int16 samples mixed down to one channel."""
    data = np.asarray(samples)
    if data.dtype != np.int16:
        data = (np.clip(data, -1.0, 1.0) * 32767).astype(np.int16)
    if data.ndim == 2:
        return data.mean(axis=0).astype(np.int16) if data.shape[0] == channels else data[:, 0]
    if channels > 1:
        return data.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return data.reshape(-1)


def rms(samples: np.ndarray) -> float:
    """Root mean square of samples (0.0 for none)."""
    if len(samples) == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(samples.astype(np.float64)))))


def dominant_frequency(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """Frequency in Hz of the strongest spectral peak (Hann window, 1 Hz bins); 0.0 for none."""
    if len(samples) == 0:
        return 0.0
    n = max(len(samples), rate)
    window = samples.astype(np.float64) * np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(window, n=n))
    spectrum[0] = 0.0
    return float(np.fft.rfftfreq(n, 1 / rate)[int(np.argmax(spectrum))])


async def wait_until(
    predicate: Callable[[], bool], timeout: float, *, interval: float = 0.02
) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return predicate()


class Recording:
    """The audio heard from one speaker: ``(arrival time, samples)`` chunks, in order.

    Safe to read from any thread while the participant's SDK thread appends to it. The
    chunk's time is when its last sample arrived.

    Args:
        rate: Sample rate of the samples.
        max_seconds: The most audio kept; the oldest chunks are dropped beyond it.

    """

    def __init__(self, rate: int = SAMPLE_RATE, max_seconds: float = 600.0) -> None:
        self.rate = rate
        self._max_samples = int(rate * max_seconds)
        self._chunks: list[tuple[float, np.ndarray]] = []
        self._samples = 0
        self._lock = threading.Lock()

    def add(self, at: float, samples: np.ndarray) -> None:
        """Append a chunk received at ``at``."""
        with self._lock:
            self._chunks.append((at, samples))
            self._samples += len(samples)
            while self._samples > self._max_samples and len(self._chunks) > 1:
                self._samples -= len(self._chunks.pop(0)[1])

    def chunks(
        self, since: float = 0.0, until: float = float("inf")
    ) -> list[tuple[float, np.ndarray]]:
        """The chunks that arrived in ``[since, until)``."""
        with self._lock:
            return [(t, s) for t, s in self._chunks if since <= t < until]

    def samples(self, since: float = 0.0, until: float = float("inf")) -> np.ndarray:
        """The samples that arrived in ``[since, until)``, concatenated."""
        parts = [s for _, s in self.chunks(since, until)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    @property
    def seconds(self) -> float:
        """Seconds of audio held."""
        with self._lock:
            return self._samples / self.rate

    def loud_times(self, since: float = 0.0, threshold: float = LOUD_RMS) -> list[float]:
        """Arrival times of the chunks since ``since`` whose RMS exceeds ``threshold``."""
        return [t for t, s in self.chunks(since) if rms(s) > threshold]

    def heard_anything(self, since: float = 0.0, threshold: float = LOUD_RMS) -> bool:
        """Whether any chunk that arrived since ``since`` was louder than ``threshold``."""
        return bool(self.loud_times(since, threshold))

    def first_sound(self, since: float = 0.0, threshold: float = LOUD_RMS) -> float | None:
        """Arrival time of the first loud chunk since ``since`` (``None``: silence)."""
        loud = self.loud_times(since, threshold)
        return loud[0] if loud else None

    def last_sound(self, since: float = 0.0, threshold: float = LOUD_RMS) -> float | None:
        """Arrival time of the last loud chunk since ``since`` (``None``: silence)."""
        loud = self.loud_times(since, threshold)
        return loud[-1] if loud else None

    def dominant_frequency(self, since: float = 0.0, threshold: float = LOUD_RMS) -> float:
        """Dominant frequency of the loud chunks since ``since`` (0.0 when there are none)."""
        loud = [s for _, s in self.chunks(since) if rms(s) > threshold]
        return dominant_frequency(np.concatenate(loud), self.rate) if loud else 0.0

    def segments(
        self, since: float = 0.0, *, threshold: float = LOUD_RMS, min_gap: float = 0.1
    ) -> list[tuple[float, float]]:
        """Sound segments since ``since`` as ``(start, end)`` seconds from the first sample.

        The samples are cut into :data:`BLOCK_SECONDS` blocks; loud blocks separated by
        less than ``min_gap`` of quiet are one segment. Silence is what lies between.
        """
        samples = self.samples(since)
        block = int(self.rate * BLOCK_SECONDS)
        loud = [
            rms(samples[i : i + block]) > threshold
            for i in range(0, len(samples) - block + 1, block)
        ]
        found: list[tuple[float, float]] = []
        for index, is_loud in enumerate(loud):
            if not is_loud:
                continue
            start, end = index * BLOCK_SECONDS, (index + 1) * BLOCK_SECONDS
            if found and start - found[-1][1] < min_gap:
                found[-1] = (found[-1][0], end)
            else:
                found.append((start, end))
        return [(round(a, 3), round(b, 3)) for a, b in found]
