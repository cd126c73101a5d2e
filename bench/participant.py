"""A simulated call participant: the unmodified GetStream SDK, talking and listening.

It talks a tone (continuously or in bursts) through the SDK's own ``AudioStreamTrack``,
records when its speech actually left (the track's ``recv()``), and records the envelope and
arrival time of everything it hears, per sender.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
from getstream import AsyncStream
from getstream.video.rtc.audio_track import AudioStreamTrack
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from getstream.video.rtc.track_util import PcmData
from getstream.video.rtc.tracks import SubscriptionConfig, TrackSubscriptionConfig

from bench.signals import FrameWatch, Recorder, Tone
from bench.trackwatch import frame_is_loud
from pipecat_getstream.stacks.aiortc.sdk import RoutedConnectionManager, leave_without_blocking

RATE = 48000


class _WatchedTrack(AudioStreamTrack):
    """The SDK's audio track, noting when each frame with speech is handed to aiortc."""

    def __init__(self) -> None:
        super().__init__(sample_rate=RATE, channels=1)
        self.watch = FrameWatch()

    async def recv(self) -> Any:
        frame = await super().recv()
        self.watch.see(time.monotonic(), frame_is_loud(frame))
        return frame


class Participant:
    """One SDK participant in a call.

    Args:
        creds: ``base_url``, ``api_key``, ``api_secret`` of the local server.
        call_id: The call to join.
        user_id: This participant's user id.
        talk: ``"none"``, ``"tone"`` (continuous) or ``"bursts"``.
        freq: Tone frequency.
        burst_on: Seconds of tone per burst.
        burst_off: Seconds of silence between bursts.

    """

    def __init__(
        self,
        creds: dict[str, str],
        call_id: str,
        user_id: str,
        talk: str = "none",
        freq: float = 440.0,
        burst_on: float = 0.3,
        burst_off: float = 0.7,
    ):
        self.user_id = user_id
        self.talk = talk
        self.freq = freq
        self.burst = (burst_on, burst_off)
        client = AsyncStream(
            api_key=creds["api_key"], api_secret=creds["api_secret"], base_url=creds["base_url"]
        )
        self.call = client.video.call("default", call_id)
        ws_uri = creds["base_url"].replace("http://", "ws://") + "/api/v2/connect"
        self.manager = RoutedConnectionManager(
            call=self.call,
            user_id=user_id,
            create=True,
            coordinator_uri=ws_uri,
            subscription_config=SubscriptionConfig(
                default=TrackSubscriptionConfig(track_types=[models_pb2.TRACK_TYPE_AUDIO])
            ),
        )
        self.heard: dict[str, Recorder] = {}
        self.track: _WatchedTrack | None = None
        self._talker: asyncio.Task[None] | None = None

    async def join(self) -> float:
        """Join, publish (when talking) and start talking; returns the seconds it took."""
        t = time.monotonic()
        self.manager.on("audio", self._on_audio)
        await self.manager.connect()
        if self.talk != "none":
            self.track = _WatchedTrack()
            await self.manager.add_tracks(audio=self.track)
            self._talker = asyncio.create_task(self._run_talker())
        await self.manager.republish_tracks()
        return time.monotonic() - t

    async def leave(self) -> None:
        """Leave the call. The SDK closes its signaling socket synchronously (joining
        threads for seconds); the transport's own leave runs that close on a worker
        thread, so that many participants leaving do not freeze the peers process."""
        if self._talker is not None:
            self._talker.cancel()
        await leave_without_blocking(self.manager)

    def recorder(self, sender: str) -> Recorder:
        return self.heard.setdefault(sender, Recorder())

    def _on_audio(self, pcm: PcmData) -> None:
        sender = getattr(pcm.participant, "user_id", None) or "?"
        samples = np.asarray(pcm.samples, dtype=np.int16).reshape(-1)
        self.recorder(sender).add(time.monotonic(), samples, pcm.sample_rate)

    def _pattern(self, tone: Tone, secs: float, pos: float) -> np.ndarray:
        audio = tone.next(secs)
        if self.talk == "bursts":
            on, off = self.burst
            t = pos + np.arange(len(audio)) / RATE
            audio[(t % (on + off)) >= on] = 0
        return audio

    async def _run_talker(self) -> None:
        assert self.track is not None
        tone, chunk, lead = Tone(self.freq, RATE), 0.1, 0.06
        start, written = time.monotonic(), 0.0
        while True:
            audio = self._pattern(tone, chunk, written)
            await self.track.write(PcmData(sample_rate=RATE, format="s16", samples=audio))
            written += chunk
            await asyncio.sleep(max(0.0, start + written - lead - time.monotonic()))
