"""The simulated participant on SDK 3.3.3-6.x: the SDK's aiortc ``ConnectionManager``.

The manager is the transport's :class:`~pipecat_getstream.stacks.aiortc.sdk.RoutedConnectionManager`
(the stock SDK with its coordinator socket on the server's URL); audio goes out through the
SDK's ``AudioStreamTrack`` and video through an aiortc ``VideoStreamTrack``. Everything here
runs on the participant's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import numpy as np
from aiortc import VideoStreamTrack
from av import VideoFrame
from getstream.video.rtc.audio_track import AudioStreamTrack
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from getstream.video.rtc.track_util import PcmData
from getstream.video.rtc.tracks import SubscriptionConfig, TrackSubscriptionConfig

from pipecat_getstream.stacks.aiortc.sdk import RoutedConnectionManager, leave_without_blocking
from pipecat_getstream.testing.kit.inbox import Seat, SeatedBackend, VideoOut
from pipecat_getstream.testing.signals import SAMPLE_RATE, to_mono

#: The coordinator event that carries a closed caption.
CAPTION_EVENT = "call.closed_caption"


class SolidColourTrack(VideoStreamTrack):
    """An aiortc camera that sends solid-colour frames of one size at ``fps``."""

    def __init__(self, width: int, height: int, rgb: tuple[int, int, int], fps: int) -> None:
        super().__init__()
        self._image = np.empty((height, width, 3), dtype=np.uint8)
        self._image[:] = rgb
        self._fps = fps
        self._sent = 0

    async def recv(self) -> VideoFrame:
        """The next frame, paced at ``fps``."""
        if self._sent:
            await asyncio.sleep(1 / self._fps)
        self._sent += 1
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame.from_ndarray(self._image, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


def routed_manager(
    call: Any, user_id: str, coordinator_uri: str, video: bool, screen_share: bool
) -> RoutedConnectionManager:
    """The SDK's manager for ``call`` with its coordinator socket on ``coordinator_uri``.

    It subscribes to audio, and to camera video and screen share when asked.
    """
    types = [models_pb2.TRACK_TYPE_AUDIO]
    if video:
        types.append(models_pb2.TRACK_TYPE_VIDEO)
    if screen_share:
        types.append(models_pb2.TRACK_TYPE_SCREEN_SHARE)
    return RoutedConnectionManager(
        call=call,
        user_id=user_id,
        subscription_config=SubscriptionConfig(default=TrackSubscriptionConfig(track_types=types)),
        coordinator_uri=coordinator_uri,
        coordinator_events=(CAPTION_EVENT,),
    )


class AiortcBackend(SeatedBackend):
    """One SDK 3.x-6.x participant (behind ``SimulatedParticipant``)."""

    generation = "3.x-6.x"

    def __init__(self, seat: Seat) -> None:
        super().__init__(seat)
        self.call = self.rest_call
        uri, video = seat.address.coordinator_ws_url, seat.receive_video
        self.manager = routed_manager(self.call, seat.user_id, uri, video, video)
        self.mic = AudioStreamTrack(sample_rate=SAMPLE_RATE, channels=1)
        self._tasks: set[asyncio.Task[None]] = set()

    async def join(self) -> None:
        """Join, publish the microphone, subscribe to those already publishing."""
        m = self.manager
        m.on("audio", self._on_audio)
        m.on("track_added", self._on_track_added)
        m.on("custom", self.inbox.events.append)
        m.on("participant_joined", self._on_joined)
        m.on("participant_updated", self._on_named)
        m.on("coordinator_event", self._on_coordinator_event)
        m.on("participant_left", lambda e: self.inbox.left.append(e.participant.user_id))
        m.on("call_ended", lambda *_: self.inbox.call_ended.set())
        await m.connect()
        if self.seat.microphone:
            await m.add_tracks(audio=self.mic)
        await m.republish_tracks()  # 3.x-6.x subscribe to earlier publishers only when asked

    async def leave(self) -> None:
        """Stop the video readers and leave the call."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await leave_without_blocking(self.manager)
        with contextlib.suppress(Exception):
            await self.rest.aclose()

    async def write_audio(self, samples: np.ndarray) -> None:
        """Queue mono int16 microphone samples at :data:`SAMPLE_RATE`."""
        await self.mic.write(PcmData(sample_rate=SAMPLE_RATE, format="s16", samples=samples))

    @staticmethod
    def cannot_publish(codec: str, screen_share: bool) -> str | None:
        """Why this SDK cannot publish such video, or ``None``."""
        if screen_share:
            return "SDK 3.x-6.x publish no screen share (add_tracks takes audio and video only)"
        if codec.lower() != "h264":
            return f"SDK 3.x-6.x publish H.264 video only, not {codec}"
        return None

    async def start_video(self, spec: VideoOut) -> str:
        """Publish a solid-colour camera; returns the codec."""
        reason = self.cannot_publish(spec.codec or "h264", spec.screen_share)
        if reason:
            raise NotImplementedError(reason)
        track = SolidColourTrack(spec.width, spec.height, spec.rgb, spec.fps)
        await self.manager.add_tracks(video=track)
        return "h264"

    async def stop_video(self, screen_share: bool) -> None:
        """Not offered by SDK 3.x-6.x (a published track stays until leaving)."""
        raise NotImplementedError("SDK 3.x-6.x cannot unpublish a track before leaving")

    def participants(self) -> list[str]:
        """User ids in the SDK's participant state."""
        state = self.manager.participants_state.get_participants()
        return sorted({p.user_id for p in state})

    def _on_joined(self, event: Any) -> None:
        self._on_named(event)
        user_id = event.participant.user_id
        if user_id != self.user_id:
            self.inbox.joined.append(user_id)

    def _on_named(self, event: Any) -> None:
        # 3.x-6.x keep no names in their participant state: the SFU's events carry them.
        self.inbox.named(event.participant.user_id, event.participant.name)

    def _on_coordinator_event(self, event: dict[str, Any]) -> None:
        if event.get("type") == CAPTION_EVENT:
            self.inbox.caption(event)

    def _on_audio(self, pcm: PcmData) -> None:
        user = getattr(pcm.participant, "user_id", None) or "?"
        self.inbox.audio(user, to_mono(pcm.samples, pcm.channels), pcm.sample_rate)

    def _on_track_added(self, track_id: str, kind: str, user: Any) -> None:
        if kind != "video" or user is None or self.manager.subscriber_pc is None:
            return
        track = self.manager.subscriber_pc.add_track_subscriber(track_id)
        if track is None:
            return
        # The SFU names the track type in the msid stream id (the cloud's form; see the
        # server's sfu/naming.py); the SDK keeps the stream id of each track id.
        stream_id = self.manager.participants_state.get_stream_id_from_track_id(track_id) or ""
        ids = (stream_id, track_id)
        screen = any(value.split(":")[1:2] == ["TRACK_TYPE_SCREEN_SHARE"] for value in ids)
        name = "screen_share" if screen else "video"
        task = asyncio.ensure_future(self._watch(user.user_id, name, track))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self, user_id: str, kind: str, track: Any) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                self.inbox.video(user_id, kind, frame.width, frame.height)
