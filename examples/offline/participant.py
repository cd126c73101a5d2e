"""A simulated person in the call: an unmodified GetStream SDK participant.

It joins like any SDK client, publishes a microphone track on which it plays
recorded speech, records everything it hears from the bot with arrival times,
and collects the custom events sent to the call.
"""

from __future__ import annotations

import asyncio
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from getstream import AsyncStream
from getstream.video.rtc.audio_track import AudioStreamTrack
from getstream.video.rtc.connection_manager import ConnectionManager
from getstream.video.rtc.connection_utils import watch_call
from getstream.video.rtc.coordinator.ws import StreamAPIWS
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from getstream.video.rtc.track_util import PcmData
from getstream.video.rtc.tracks import SubscriptionConfig, TrackSubscriptionConfig

MIC_RATE = 48000
CHUNK_SECS = 0.02
#: RMS (16-bit scale) above which a 20 ms chunk counts as speech rather than silence.
LOUD_RMS = 300.0


def load_wav(path: Path) -> np.ndarray:
    """Read a 16-bit mono WAV as int16 samples at :data:`MIC_RATE`."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError(f"{path}: expected 16-bit mono audio")
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    if rate == MIC_RATE:
        return samples
    resampled = PcmData(sample_rate=rate, format="s16", samples=samples).resample(MIC_RATE)
    return np.asarray(resampled.samples, dtype=np.int16).reshape(-1)


def rms(samples: np.ndarray) -> float:
    """Root mean square of int16 samples (0 for none)."""
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


@dataclass
class Track:
    """Timed audio: ``(time the chunk ended, samples)`` pairs on the monotonic clock."""

    rate: int = MIC_RATE
    chunks: list[tuple[float, np.ndarray]] = field(default_factory=list)

    def loud_times(self) -> list[float]:
        """End times of the chunks that hold speech."""
        return [t for t, samples in self.chunks if rms(samples) > LOUD_RMS]

    def loud_since(self, since: float) -> bool:
        """Whether any chunk ending after ``since`` holds speech."""
        return any(t > since for t in self.loud_times())


class _CoordinatorAt(ConnectionManager):
    """The SDK's ConnectionManager with its coordinator WebSocket at a given URI.

    The SDK opens the coordinator socket (which carries custom events) at
    GetStream's cloud address whatever the API ``base_url``; the local server
    serves it too, at ``<base_url>/api/v2/connect``.
    """

    def __init__(self, *args: Any, ws_uri: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._ws_uri = ws_uri
        self.watching = asyncio.Event()

    async def _connect_coordinator_ws(self) -> None:
        ws = StreamAPIWS(self.call, {"id": self.user_id}, uri=self._ws_uri)
        self._coordinator_ws_client = ws
        ws.on("custom", lambda event: self.emit("custom", event))
        await ws.connect()
        await watch_call(self.call, self.user_id, ws._client_id)
        self.watching.set()


class SimulatedParticipant:
    """One person in the call, driven by the demo script.

    Args:
        base_url: The GetStream API (the local server).
        api_key: API key.
        api_secret: API secret (the SDK mints the participant's token with it).
        call_type: Call type.
        call_id: Call id.
        user_id: The participant's user id.
        bot_id: The bot's user id, whose audio is recorded.

    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        api_secret: str,
        call_type: str,
        call_id: str,
        user_id: str,
        bot_id: str,
    ):
        self.user_id = user_id
        self.bot_id = bot_id
        client = AsyncStream(api_key=api_key, api_secret=api_secret, base_url=base_url)
        self.call = client.video.call(call_type, call_id)
        audio_only = TrackSubscriptionConfig(track_types=[models_pb2.TRACK_TYPE_AUDIO])
        self.manager = _CoordinatorAt(
            call=self.call,
            user_id=user_id,
            subscription_config=SubscriptionConfig(default=audio_only),
            ws_uri=base_url.replace("http", "ws", 1) + "/api/v2/connect",
        )
        self.mic = AudioStreamTrack(sample_rate=MIC_RATE, channels=1)
        self.heard = Track()  # what arrived from the bot
        self.spoken = Track()  # what this participant said, as it was sent
        self.custom_events: list[tuple[float, dict[str, Any]]] = []
        self.joined_at: float | None = None
        self.join_secs: float | None = None

    async def join(self, timeout: float = 20.0) -> None:
        """Join the call, publish the microphone and start watching the call's events."""
        m = self.manager
        m.on("audio", self._on_audio)
        m.on("custom", self._on_custom)
        started = time.monotonic()
        await asyncio.wait_for(m.connect(), timeout)
        await m.add_tracks(audio=self.mic)
        await m.republish_tracks()
        await asyncio.wait_for(m.watching.wait(), timeout)
        self.joined_at = time.monotonic()
        self.join_secs = self.joined_at - started

    async def leave(self) -> None:
        """Leave the call."""
        await self.manager.leave()

    async def send_event(self, payload: dict[str, Any]) -> None:
        """Send a custom event to everyone watching the call (the bot among them)."""
        await self.call.send_call_event(user_id=self.user_id, custom=payload)

    async def say(self, samples: np.ndarray) -> tuple[float, float]:
        """Speak: stream the samples into the microphone track in real time.

        Args:
            samples: int16 mono audio at :data:`MIC_RATE`.

        Returns:
            When the speech started and ended (monotonic seconds).

        """
        n = int(MIC_RATE * CHUNK_SECS)
        start = time.monotonic()
        for i, offset in enumerate(range(0, len(samples), n)):
            chunk = samples[offset : offset + n]
            await self.mic.write(PcmData(sample_rate=MIC_RATE, format="s16", samples=chunk))
            self.spoken.chunks.append((start + (i + 1) * CHUNK_SECS, chunk))
            # Stay about two chunks ahead of the track, which sends every 20 ms.
            await asyncio.sleep(max(0.0, start + (i - 1) * CHUNK_SECS - time.monotonic()))
        end = start + len(samples) / MIC_RATE
        await asyncio.sleep(max(0.0, end - time.monotonic()))
        return start, end

    async def wait_bot_speech(self, since: float, timeout: float) -> float | None:
        """Wait for the bot's voice after ``since``; returns when it was first heard."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            loud = [t for t in self.heard.loud_times() if t > since]
            if loud:
                return loud[0]
            await asyncio.sleep(0.05)
        return None

    async def wait_bot_quiet(self, quiet_secs: float, timeout: float) -> None:
        """Wait until the bot has been silent for ``quiet_secs`` (or the timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.heard.loud_since(time.monotonic() - quiet_secs):
                return
            await asyncio.sleep(0.05)

    def _on_audio(self, pcm: PcmData) -> None:
        if getattr(pcm.participant, "user_id", None) != self.bot_id:
            return
        samples = np.asarray(pcm.samples)
        if samples.dtype != np.int16:  # float audio: scale to 16-bit
            samples = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
        if samples.ndim == 2:  # (channels, samples)
            samples = samples.mean(axis=0).astype(np.int16)
        elif pcm.channels == 2:  # interleaved
            samples = samples.reshape(-1, 2).mean(axis=1).astype(np.int16)
        self.heard.rate = pcm.sample_rate
        self.heard.chunks.append((time.monotonic(), samples))

    def _on_custom(self, event: dict[str, Any]) -> None:
        self.custom_events.append((time.monotonic(), event))
