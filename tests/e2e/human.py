"""A simulated human: an unmodified GetStream SDK participant, for end-to-end tests."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiortc import VideoStreamTrack
from av import VideoFrame
from getstream import AsyncStream
from getstream.video.rtc.audio_track import AudioStreamTrack
from getstream.video.rtc.connection_manager import ConnectionManager
from getstream.video.rtc.connection_utils import watch_call
from getstream.video.rtc.coordinator.ws import StreamAPIWS
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from getstream.video.rtc.track_util import PcmData
from getstream.video.rtc.tracks import SubscriptionConfig, TrackSubscriptionConfig


class _LocalCoordinatorManager(ConnectionManager):
    """The SDK's ConnectionManager, with its coordinator socket aimed at the local server."""

    def __init__(self, *args: Any, ws_uri: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._ws_uri = ws_uri

    async def _connect_coordinator_ws(self) -> None:
        ws = StreamAPIWS(self.call, {"id": self.user_id}, uri=self._ws_uri)
        self._coordinator_ws_client = ws
        ws.on("custom", lambda event: self.emit("custom", event))
        await ws.connect()
        await watch_call(self.call, self.user_id, ws._client_id)


class ColourTrack(VideoStreamTrack):
    """A camera that sends solid-colour frames of a fixed size."""

    def __init__(self, width: int, height: int, rgb: tuple[int, int, int] = (0, 160, 0)):
        super().__init__()
        self._array = np.empty((height, width, 3), dtype=np.uint8)
        self._array[:] = rgb

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame.from_ndarray(self._array, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


def tone(freq: float, rate: int, secs: float, amplitude: int = 8000) -> np.ndarray:
    t = np.arange(int(rate * secs)) / rate
    return (np.sin(2 * np.pi * freq * t) * amplitude).astype(np.int16)


def dominant_freq(samples: np.ndarray, rate: int) -> float:
    if len(samples) == 0:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


@dataclass
class Heard:
    """Audio a human received from one user: (arrival time, 48 kHz mono samples) chunks."""

    chunks: list[tuple[float, np.ndarray]] = field(default_factory=list)

    def samples(self, since: float = 0.0, until: float = float("inf")) -> np.ndarray:
        parts = [s for t, s in self.chunks if since <= t < until]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def last_loud(self, threshold: float = 500.0) -> float | None:
        loud = [t for t, s in self.chunks if rms(s) > threshold]
        return loud[-1] if loud else None


class Human:
    """One SDK participant: joins, optionally talks (a tone) and shows a camera, and records."""

    def __init__(
        self,
        server: Any,
        call_id: str,
        user_id: str,
        *,
        call_type: str = "default",
        tone_hz: float | None = None,
        camera: tuple[int, int] | None = None,
        receive_video: bool = False,
        record: bool = True,
    ):
        self.server = server
        self.user_id = user_id
        self.tone_hz = tone_hz
        self.camera = camera
        self.client = AsyncStream(
            api_key=server.api_key, api_secret=server.api_secret, base_url=server.base_url
        )
        self.call = self.client.video.call(call_type, call_id)
        types = [models_pb2.TRACK_TYPE_AUDIO] + (
            [models_pb2.TRACK_TYPE_VIDEO] if receive_video else []
        )
        ws_uri = server.base_url.replace("http://", "ws://") + "/api/v2/connect"
        self.manager = _LocalCoordinatorManager(
            call=self.call,
            user_id=user_id,
            subscription_config=SubscriptionConfig(
                default=TrackSubscriptionConfig(track_types=types)
            ),
            ws_uri=ws_uri,
        )
        self.heard: dict[str, Heard] = {}
        self.custom_events: list[dict[str, Any]] = []
        self.video_sizes: dict[str, list[tuple[int, int]]] = {}
        self.left_users: list[str] = []
        self.joined_users: list[str] = []
        self.call_ended = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self.audio_track: AudioStreamTrack | None = None
        self.joined_at = 0.0
        self.record = record
        self.audio_frames = 0

    async def join(self) -> Human:
        m = self.manager
        m.on("audio", self._on_audio)
        m.on("track_added", self._on_track_added)
        m.on("custom", self.custom_events.append)
        m.on("participant_left", lambda e: self.left_users.append(e.participant.user_id))
        m.on("participant_joined", lambda e: self.joined_users.append(e.participant.user_id))
        m.on("call_ended", lambda *a: self.call_ended.set())
        await m.connect()
        self.joined_at = time.monotonic()
        video = ColourTrack(*self.camera) if self.camera else None
        if self.tone_hz is not None:
            self.audio_track = AudioStreamTrack(sample_rate=48000, channels=1)
        if self.audio_track is not None or video is not None:
            await m.add_tracks(audio=self.audio_track, video=video)
        if self.tone_hz is not None:
            self._tasks.append(asyncio.create_task(self._talk(self.tone_hz)))
        await m.republish_tracks()
        return self

    async def leave(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.manager.leave()

    async def __aenter__(self) -> Human:
        return await self.join()

    async def __aexit__(self, *exc: Any) -> None:
        await self.leave()

    def from_user(self, user_id: str) -> Heard:
        return self.heard.setdefault(user_id, Heard())

    async def send_custom(self, payload: dict[str, Any]) -> None:
        await self.call.send_call_event(user_id=self.user_id, custom=payload)

    async def _talk(self, freq: float) -> None:
        assert self.audio_track is not None
        chunk = 0.1
        samples = tone(freq, 48000, 60.0)
        n = int(48000 * chunk)
        i = 0
        start = time.monotonic()
        while True:
            part = samples[(i * n) % len(samples) : (i * n) % len(samples) + n]
            await self.audio_track.write(PcmData(sample_rate=48000, format="s16", samples=part))
            i += 1
            await asyncio.sleep(max(0.0, start + i * chunk - 0.05 - time.monotonic()))

    def _on_audio(self, pcm: PcmData) -> None:
        self.audio_frames += 1
        if not self.record:
            return
        user = getattr(pcm.participant, "user_id", None) or "?"
        samples = np.asarray(pcm.samples, dtype=np.int16).reshape(-1)
        self.from_user(user).chunks.append((time.monotonic(), samples))

    def _on_track_added(self, track_id: str, kind: str, user: Any) -> None:
        if kind != "video" or user is None or self.manager.subscriber_pc is None:
            return
        track = self.manager.subscriber_pc.add_track_subscriber(track_id)
        if track is not None:
            self._tasks.append(asyncio.create_task(self._watch(user.user_id, track)))

    async def _watch(self, user_id: str, track: Any) -> None:
        sizes = self.video_sizes.setdefault(user_id, [])
        while True:
            frame = await track.recv()
            sizes.append((frame.width, frame.height))
