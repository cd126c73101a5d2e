"""The server tests' participant on SDK 7.x: the SDK's ``ConnectionManager`` over the Rust core.

It publishes with the SDK's own ``add_tracks`` where it can (VP9 camera), and otherwise as
``add_tracks`` does, with another ``LocalVideoTrack``. Only its coordinator socket is routed
(the project's ``RoutedConnectionManager7``).
"""

from __future__ import annotations

from typing import Any

import getstream_rtc
from getstream import AsyncStream
from getstream.video.rtc.tracks import SubscriptionConfig, TrackSubscriptionConfig
from getstream.video.rtc.video_forwarder import VideoForwarder

from pipecat_getstream.testing.kit.rust_backend import RustBackend, video_type
from tests.server.routed_manager import RoutedConnectionManager7

from .sdk_participant import KIND_NAMES, Participant, ServerAddress


class Participant7(Participant):
    """A 7.x (Rust core) SDK participant."""

    def __init__(self, call_id: str, user_id: str, cm: Any) -> None:
        super().__init__(call_id, user_id, cm)
        self._remote: list[Any] = []  # a dropped RemoteTrack is unsubscribed
        self._announced: dict[str, list[Any]] = {}  # session -> TrackPublished types
        self._seen: dict[str, set[Any]] = {}  # session -> video types received
        cm.on("track_published", self._on_published)

    async def _on_published(self, event: Any) -> None:
        self._announced.setdefault(event.session_id, []).append(event.track_type)

    async def _on_track_added(self, *args: Any) -> None:
        (track,) = args
        self._remote.append(track)
        user_id, session = track.participant.user_id, track.participant.session_id
        track_type = track.track_type
        if track_type in (getstream_rtc.TrackType.VIDEO, getstream_rtc.TrackType.SCREEN_SHARE):
            # The SFU names stream types as the cloud does; 7.x reads them as VIDEO.
            seen = self._seen.setdefault(session, set())
            track_type = video_type(track, self._announced.get(session, []), seen)
            seen.add(track_type)
        name = KIND_NAMES.get(int(track_type), str(track_type))
        self.tracks.append((user_id, name, ""))
        if name in ("video", "screen_share"):
            self._read(track.video_frames(), user_id, name)

    @staticmethod
    def cannot_publish(codec: str, *, screen_share: bool = False) -> str | None:
        return RustBackend.cannot_publish(codec, screen_share)

    async def _publish_pattern(self, codec: str, source: Any, screen_share: bool) -> None:
        if codec == "vp9" and not screen_share:
            await self.cm.add_tracks(video=source)  # the stock path: always VP9
            return
        # VP8 camera and screen share are what add_tracks does, with another
        # LocalVideoTrack / publish call (the SDK's own forwarder and task).
        call = self.cm._rust_call
        target = getstream_rtc.LocalVideoTrack.vp8()
        kind = "screen_share" if screen_share else "video"
        await self.cm._stop_forwarding(kind)
        if screen_share:
            await call.publish_screen_share(target)
            stop = call.stop_publish_screen_share
        else:
            await call.publish_video(target)
            stop = call.stop_publish_video
        self.cm._start_forwarding(kind, VideoForwarder(source, target), stop)

    async def leave(self) -> None:
        await super().leave()
        self._remote.clear()


def make_participant(
    server: ServerAddress,
    client: AsyncStream,
    call_type: str,
    call_id: str,
    user_id: str,
    track_types: tuple[int, ...],
    coordinator: bool,
    **kwargs: Any,
) -> Participant:
    if not coordinator:
        raise NotImplementedError("SDK 7.x cannot join without a coordinator connection")
    config = SubscriptionConfig(default=TrackSubscriptionConfig(track_types=list(track_types)))
    cm = RoutedConnectionManager7(
        call=client.video.call(call_type, call_id),
        user_id=user_id,
        subscription_config=config,
        coordinator_uri=server.coordinator_ws_url,
        **kwargs,
    )
    return Participant7(call_id, user_id, cm)


PARTICIPANT_CLASS = Participant7
