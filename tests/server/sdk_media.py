"""Media helpers of the server tests' SDK participants (``sdk_kit``): tones as PcmData,
received audio per owner, a test-pattern camera, a writable audio track, SDK error parsing.

The signal measurements themselves are the kit's (:mod:`pipecat_getstream.testing.signals`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import VideoStreamTrack
from getstream.video.rtc import PcmData

from pipecat_getstream.testing import signals
from pipecat_getstream.testing.signals import dominant_frequency, rms

SAMPLE_RATE = 48000

__all__ = [
    "SAMPLE_RATE",
    "AudioLog",
    "AudioSource",
    "PatternTrack",
    "api_error",
    "dominant_frequency",
    "median_frequency",
    "mono",
    "rms",
    "tone",
    "wait_for",
]


def tone(freq: float, seconds: float, amplitude: float = 0.5) -> PcmData:
    """A mono s16 sine at 48 kHz (the kit's :func:`signals.tone` as a PcmData)."""
    samples = signals.tone(freq, seconds, amplitude=int(amplitude * 32767))
    return PcmData(samples=samples, sample_rate=SAMPLE_RATE, format="s16", channels=1)


def mono(pcm: PcmData) -> np.ndarray:
    """The first channel of a PcmData as float64."""
    samples = np.asarray(pcm.samples)
    if samples.ndim == 2:
        samples = samples[0] if samples.shape[0] == pcm.channels else samples[:, 0]
    elif pcm.channels > 1:
        samples = samples[:: pcm.channels]
    return samples.astype(np.float64)


def median_frequency(chunks: list[np.ndarray], sample_rate: int) -> float:
    """Median of the per-chunk dominant frequencies (robust to gaps between chunks)."""
    if not chunks:
        return 0.0
    return float(np.median([dominant_frequency(c, sample_rate) for c in chunks]))


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes and contexts, each once."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in found):
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def api_error(exc: BaseException) -> tuple[int | None, int | None, str]:
    """``(HTTP status, GetStream code, message)`` of an SDK API error, wherever it is
    in the exception chain (the exception classes differ between SDK versions)."""
    carrier = next(
        (e for e in _chain(exc) if isinstance(getattr(e, "status_code", None), int)), None
    )
    if carrier is None:
        return None, None, str(exc)
    api = getattr(carrier, "api_error", None)
    code = getattr(carrier, "code", None)
    if code is None and api is not None:
        code = api.code
    message = getattr(carrier, "message", None) or (api.message if api else str(carrier))
    return carrier.status_code, code, str(message)  # type: ignore[attr-defined]


async def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes (the kit's ``wait_until``)."""
    return await signals.wait_until(predicate, timeout, interval=interval)


class AudioLog:
    """Received audio frames: ``(arrival time, owner user id, mono samples, rate)``."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, str, np.ndarray, int]] = []

    def add(self, pcm: PcmData) -> None:
        """Record one received PcmData."""
        user = getattr(pcm.participant, "user_id", None) or ""
        self.frames.append((time.perf_counter(), user, mono(pcm), pcm.sample_rate))

    def since(self, t0: float, from_user: str | None = None) -> list[tuple[float, np.ndarray]]:
        """Frames after ``t0`` (of ``from_user`` when given)."""
        return [
            (at, s)
            for at, user, s, _ in self.frames
            if at >= t0 and (from_user is None or user == from_user)
        ]

    def loud_since(
        self, t0: float, from_user: str | None = None, threshold: float = 2000.0
    ) -> list[tuple[float, np.ndarray]]:
        """Frames after ``t0`` whose RMS exceeds ``threshold``."""
        return [(at, s) for at, s in self.since(t0, from_user) if rms(s) > threshold]

    def count(self, from_user: str | None = None) -> int:
        """Frames received (of ``from_user`` when given)."""
        return len(self.since(0.0, from_user))

    def owners(self) -> set[str]:
        """User ids the received frames were attributed to ('' when unknown)."""
        return {user for _, user, _, _ in self.frames}

    @property
    def rate(self) -> int:
        """Sample rate of the last frame."""
        return self.frames[-1][3] if self.frames else SAMPLE_RATE


class PatternTrack(VideoStreamTrack):
    """A 30 fps aiortc test pattern of a given size."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        """The next frame, paced at 30 fps."""
        pts, time_base = await self.next_timestamp()
        image = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        image[:, : self.width // 2] = (200, 40, 40)
        image[:, self.width // 2 :, 1] = (self.count * 4) % 256
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        self.count += 1
        return frame


class AudioSource:
    """A published audio track that tones are written to."""

    def __init__(self, track: Any) -> None:
        self.track = track

    async def write_tone(self, freq: float, seconds: float, amplitude: float = 0.5) -> None:
        """Queue a tone, flushing the tail on SDKs whose write() takes ``final``."""
        pcm = tone(freq, seconds, amplitude)
        try:
            await self.track.write(pcm, final=True)
        except TypeError:  # 3.x: write(pcm) has no ``final``
            await self.track.write(pcm)

    async def write_silence(self, seconds: float) -> None:
        """Queue silence (the 7.x publisher sends nothing while starved)."""
        await self.write_tone(440, seconds, amplitude=0.0)
