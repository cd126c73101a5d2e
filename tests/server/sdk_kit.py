"""Helpers for server tests: real SDK participants against the local server."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from getstream import AsyncStream
from getstream.video.rtc import PcmData
from getstream.video.rtc.connection_manager import ConnectionManager
from getstream.video.rtc.connection_utils import watch_call
from getstream.video.rtc.coordinator.ws import StreamAPIWS
from getstream.video.rtc.pb.stream.video.sfu.models.models_pb2 import (
    TRACK_TYPE_AUDIO,
    TRACK_TYPE_VIDEO,
)
from getstream.video.rtc.tracks import SubscriptionConfig, TrackSubscriptionConfig

from pipecat_getstream.testing import LocalStreamServer

SAMPLE_RATE = 48000


class LocalConnectionManager(ConnectionManager):
    """The SDK's ConnectionManager with its coordinator socket pointed at the local server.

    The SDK hard-codes the cloud's coordinator WebSocket URL; this subclass (test
    code only, no global patch) opens StreamAPIWS on the local URL instead, then
    watches the call exactly as the SDK does. Connectivity pings go to loopback.
    """

    def __init__(self, *args: Any, coordinator_uri: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._coordinator_uri = coordinator_uri
        self._network_monitor.connectivity_hosts = ["127.0.0.1"]

    async def _connect_coordinator_ws(self) -> None:
        if self._coordinator_uri is None:
            return
        stream = self.call.client.stream
        # Token-only clients (SDK >= 3.5) pass their own token; older SDKs mint one.
        token_only = getattr(stream, "has_api_secret", True) is False
        self._coordinator_ws_client = StreamAPIWS(
            call=self.call,
            user_details={"id": self.user_id},
            uri=self._coordinator_uri,
            user_token=stream.token if token_only else None,
        )
        self._coordinator_ws_client.on("custom", functools.partial(self.emit, "custom"))
        await self._coordinator_ws_client.connect()
        await watch_call(self.call, self.user_id, self._coordinator_ws_client._client_id)


class SdkKit:
    """Creates SDK participants for one server and holds signal helpers."""

    def __init__(self, server: LocalStreamServer) -> None:
        self.server = server
        self.client = AsyncStream(
            api_key=server.api_key, api_secret=server.api_secret, base_url=server.base_url
        )

    def participant(
        self,
        call_id: str,
        user_id: str,
        *,
        track_types: tuple[int, ...] = (TRACK_TYPE_AUDIO, TRACK_TYPE_VIDEO),
        coordinator: bool = True,
        client: AsyncStream | None = None,
        call_type: str = "default",
        **kwargs: Any,
    ) -> LocalConnectionManager:
        """Return a (not yet entered) ConnectionManager for ``user_id``."""
        call = (client or self.client).video.call(call_type, call_id)
        config = SubscriptionConfig(default=TrackSubscriptionConfig(track_types=list(track_types)))
        return LocalConnectionManager(
            call=call,
            user_id=user_id,
            subscription_config=config,
            coordinator_uri=self.server.coordinator_ws_url if coordinator else None,
            **kwargs,
        )


def tone(freq: float, seconds: float, amplitude: float = 0.5) -> PcmData:
    """A mono s16 sine at 48 kHz."""
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    samples = (amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return PcmData(samples=samples, sample_rate=SAMPLE_RATE, format="s16", channels=1)


def mono(pcm: PcmData) -> np.ndarray:
    """The first channel of a PcmData as float64."""
    samples = np.asarray(pcm.samples)
    if samples.ndim == 2:
        samples = samples[0] if samples.shape[0] == pcm.channels else samples[:, 0]
    elif pcm.channels > 1:
        samples = samples[:: pcm.channels]
    return samples.astype(np.float64)


def dominant_frequency(samples: np.ndarray, sample_rate: int) -> float:
    """Frequency of the strongest FFT bin (Hann window, zero-padded to 1 Hz bins)."""
    n = max(len(samples), sample_rate)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)), n=n))
    spectrum[0] = 0
    return float(np.fft.rfftfreq(n, 1 / sample_rate)[int(np.argmax(spectrum))])


def median_frequency(chunks: list[np.ndarray], sample_rate: int) -> float:
    """Median of the per-chunk dominant frequencies (robust to gaps between chunks)."""
    if not chunks:
        return 0.0
    return float(np.median([dominant_frequency(c, sample_rate) for c in chunks]))


def rms(samples: np.ndarray) -> float:
    """Root mean square of samples."""
    return float(np.sqrt(np.mean(np.square(samples)))) if len(samples) else 0.0


class AudioLog:
    """Collects ``"audio"`` events of a ConnectionManager with arrival times."""

    def __init__(self, cm: ConnectionManager, from_user: str | None = None) -> None:
        self.frames: list[tuple[float, PcmData]] = []
        self.from_user = from_user

        @cm.on("audio")
        async def _on_audio(pcm: PcmData) -> None:
            user = getattr(pcm.participant, "user_id", None)
            if self.from_user is None or user == self.from_user:
                self.frames.append((time.perf_counter(), pcm))

    def loud_since(self, t0: float, threshold: float = 2000.0) -> list[tuple[float, np.ndarray]]:
        """Frames after ``t0`` whose RMS exceeds ``threshold``."""
        out = []
        for at, pcm in self.frames:
            if at >= t0:
                samples = mono(pcm)
                if rms(samples) > threshold:
                    out.append((at, samples))
        return out


def api_error(exc: BaseException) -> tuple[int | None, int | None, str]:
    """``(HTTP status, GetStream code, message)`` of an SDK API error, wherever it is
    in the exception chain (the exception classes differ between SDK versions)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        status = getattr(current, "status_code", None)
        if isinstance(status, int):
            api = getattr(current, "api_error", None)
            code = getattr(current, "code", None)
            if code is None and api is not None:
                code = api.code
            message = getattr(current, "message", None) or (api.message if api else str(current))
            return status, code, str(message)
        current = current.__cause__ or current.__context__
    return None, None, str(exc)


async def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return predicate()
