"""The simulated participant on SDK 7.x: a stock ``getstream_rtc`` call.

The Rust core's ``Client`` takes the coordinator URL (``ws_url``) publicly, so nothing of
the SDK is subclassed. Everything here runs on the participant's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import getstream_rtc as rtc
import numpy as np

from pipecat_getstream.testing.kit.inbox import Seat, SeatedBackend, VideoOut
from pipecat_getstream.testing.signals import SAMPLE_RATE, to_mono

KIND_NAMES = {rtc.TrackType.VIDEO: "video", rtc.TrackType.SCREEN_SHARE: "screen_share"}


def solid_i420(width: int, height: int, rgb: tuple[int, int, int]) -> np.ndarray:
    """One I420 frame of a solid colour (BT.601 limited range)."""
    r, g, b = rgb
    y = 16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256
    u = 128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256
    v = 128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256
    luma = width * height
    planes = np.empty(luma * 3 // 2, dtype=np.uint8)
    planes[:luma], planes[luma : luma * 5 // 4], planes[luma * 5 // 4 :] = int(y), int(u), int(v)
    return planes


def video_type(
    track: rtc.RemoteTrack, announced: list[rtc.TrackType], seen: set[rtc.TrackType]
) -> rtc.TrackType:
    """Camera or screen share: SDK 7.x reads the cloud's stream names as ``VIDEO``.

    The SDK types a track from a number in its msid stream id, else from its media kind;
    the SFU names the type there (``<prefix>:TRACK_TYPE_SCREEN_SHARE:<tag>``, the cloud's
    form). So a ``VIDEO`` track is the only video type its publisher has published, else the
    one not received yet, else the one the SFU announced first.

    Args:
        track: The remote track.
        announced: Its publisher's ``TrackPublished`` types, in the order they came.
        seen: The video types already received from its publisher.

    """
    both = [rtc.TrackType.VIDEO, rtc.TrackType.SCREEN_SHARE]
    published = [t for t in both if t in track.participant.published_tracks]
    if track.track_type != rtc.TrackType.VIDEO or len(published) < 2:
        return published[0] if len(published) == 1 else track.track_type
    fresh = [t for t in both if t not in seen]
    order = [t for t in announced if t in fresh]
    return fresh[0] if len(fresh) == 1 else (order or [rtc.TrackType.VIDEO])[0]


class RustBackend(SeatedBackend):
    """One SDK 7.x participant (behind ``SimulatedParticipant``)."""

    generation = "7.x"

    def __init__(self, seat: Seat) -> None:
        super().__init__(seat)
        address = seat.address
        self.client = rtc.Client(
            address.api_key,
            address.api_secret,
            base_url=address.base_url,
            ws_url=address.coordinator_ws_url,
            call_event_capacity=1024,
        )
        self.call = self.client.call(seat.call_type, seat.call_id)
        self.mic = rtc.LocalAudioTrack(pcm_queue_capacity=2.0)
        self._video: dict[bool, tuple[rtc.LocalVideoTrack, asyncio.Task[None]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: Video track types each session published, in the order the SFU announced them.
        self._announced: dict[str, list[rtc.TrackType]] = {}
        self._seen: set[tuple[str, rtc.TrackType]] = set()
        self._screens_on = False

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def join(self) -> None:
        """Join, subscribe, publish the microphone (unless the seat has none)."""
        self._spawn(self._sfu_events(self.call.sfu_events()))
        self._spawn(self._coordinator_events(self.call.coordinator_events()))
        self._spawn(self._tracks(self.call.tracks()))
        await self.call.join(self.user_id, True)
        types = [rtc.TrackType.AUDIO]
        if self.seat.receive_video:
            types.append(rtc.TrackType.VIDEO)
        await self._subscribe(types)
        if self.seat.receive_video:
            self._spawn(self._screen_shares_after_cameras())
        if self.seat.microphone:
            await self.call.publish_audio(self.mic)

    async def _subscribe(self, types: list[rtc.TrackType]) -> None:
        rule = rtc.TrackSubscriptionConfig(track_types=types)
        await self.call.update_subscriptions(rtc.SubscriptionConfig(default=rule))

    async def _screen_shares_after_cameras(self) -> None:
        """Subscribe to screen shares once the cameras published at join have arrived.

        Under the cloud's stream names SDK 7.x types every remote video track ``VIDEO``
        (see ``video_type``), and two arriving together cannot be told apart: the kit takes
        the cameras first (at most 5 s), so each screen share is the one not received yet.
        """
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            cameras = {
                p.session_id
                for p in self.call.participants()
                if p.user_id != self.user_id and rtc.TrackType.VIDEO in p.published_tracks
            }
            if cameras <= {s for s, t in self._seen if t == rtc.TrackType.VIDEO}:
                break
            await asyncio.sleep(0.05)
        self._screens_on = True
        types = [rtc.TrackType.AUDIO, rtc.TrackType.VIDEO, rtc.TrackType.SCREEN_SHARE]
        await self._subscribe(types)

    async def leave(self) -> None:
        """Stop every reader and writer and leave the call."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._video.clear()
        with contextlib.suppress(Exception):
            await self.call.leave()
        with contextlib.suppress(Exception):
            await self.rest.aclose()

    async def write_audio(self, samples: np.ndarray) -> None:
        """Queue mono int16 microphone samples at :data:`SAMPLE_RATE`."""
        await self.mic.write_pcm(np.ascontiguousarray(samples, dtype=np.int16), SAMPLE_RATE, 1)

    @staticmethod
    def cannot_publish(codec: str, screen_share: bool) -> str | None:
        """Why this SDK cannot publish such video, or ``None``."""
        name = codec.lower()
        if screen_share and name != "vp8":
            return f"SDK 7.x publishes screen share in VP8 only, not {codec}"
        if name not in ("vp8", "vp9"):
            return f"SDK 7.x publishes VP8 or VP9 video only, not {codec}"
        return None

    async def start_video(self, spec: VideoOut) -> str:
        """Publish solid-colour frames as camera (or screen share); returns the codec."""
        codec = (spec.codec or "vp8").lower()
        reason = self.cannot_publish(codec, spec.screen_share)
        if reason:
            raise NotImplementedError(reason)
        await self.stop_video(spec.screen_share)
        track = rtc.LocalVideoTrack.vp9() if codec == "vp9" else rtc.LocalVideoTrack.vp8()
        if spec.screen_share:
            await self.call.publish_screen_share(track)
        else:
            await self.call.publish_video(track)
        task = self._spawn(self._show(track, spec))
        self._video[spec.screen_share] = (track, task)
        return codec

    async def stop_video(self, screen_share: bool) -> None:
        """Stop the camera (or screen share) if it is published."""
        published = self._video.pop(screen_share, None)
        if published is None:
            return
        track, task = published
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if screen_share:
            await self.call.stop_publish_screen_share(track)
        else:
            await self.call.stop_publish_video(track)

    def participants(self) -> list[str]:
        """User ids in the SDK's participant state."""
        people = self.call.participants()
        for person in people:
            self.inbox.named(person.user_id, person.name)
        return sorted({p.user_id for p in people})

    async def _sfu_events(self, events: rtc.EventStream) -> None:
        async for event in events:
            if isinstance(event, (rtc.ParticipantJoined, rtc.ParticipantUpdated)):
                self.inbox.named(event.participant.user_id, event.participant.name)
            if isinstance(event, rtc.ParticipantJoined):
                if event.participant.user_id != self.user_id:
                    self.inbox.joined.append(event.participant.user_id)
            elif isinstance(event, rtc.ParticipantLeft):
                self.inbox.left.append(event.participant.user_id)
            elif isinstance(event, rtc.TrackPublished):
                self._announced.setdefault(event.session_id, []).append(event.track_type)
            elif isinstance(event, rtc.CallEnded):
                self.inbox.call_ended.set()
        self.inbox.call_ended.set()

    async def _coordinator_events(self, events: rtc.EventStream) -> None:
        async for event in events:
            if not isinstance(event, rtc.CoordinatorEvent):
                continue
            if event.name == "custom":
                self.inbox.events.append(dict(event.data))
            elif event.name == "call.closed_caption" and isinstance(event.data, dict):
                self.inbox.caption(event.data)

    async def _tracks(self, tracks: rtc.TrackStream) -> None:
        async for track in tracks:
            user = track.participant.user_id or "?"
            if track.track_type == rtc.TrackType.AUDIO:
                self._spawn(self._listen(user, track))
            elif track.track_type in KIND_NAMES:
                kind = KIND_NAMES[self._video_type(track)]
                self._spawn(self._watch(user, kind, track))

    def _video_type(self, track: rtc.RemoteTrack) -> rtc.TrackType:
        session = track.participant.session_id
        seen = {t for s, t in self._seen if s == session}
        if self._screens_on:
            chosen = video_type(track, self._announced.get(session, []), seen)
        else:  # screen shares are not subscribed yet
            chosen = rtc.TrackType.VIDEO
        self._seen.add((session, chosen))
        return chosen

    async def _listen(self, user: str, track: rtc.RemoteTrack) -> None:
        while (frame := await track.next_pcm()) is not None:
            self.inbox.audio(user, to_mono(frame.samples, frame.channels), frame.sample_rate)

    async def _watch(self, user: str, kind: str, track: rtc.RemoteTrack) -> None:
        async for frame in track.video_frames():
            self.inbox.video(user, kind, frame.width, frame.height)

    async def _show(self, track: rtc.LocalVideoTrack, spec: VideoOut) -> None:
        planes = solid_i420(spec.width, spec.height, spec.rgb)
        start, sent = time.monotonic(), 0
        while True:
            await track.write_i420_at(planes, spec.width, spec.height, time.monotonic() - start)
            sent += 1
            await asyncio.sleep(max(0.0, start + sent / spec.fps - time.monotonic()))
