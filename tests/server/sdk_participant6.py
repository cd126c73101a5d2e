"""The server tests' participant on SDK 3.x-6.x: the SDK's aiortc ``ConnectionManager``.

Only its coordinator socket is routed (the project's ``RoutedConnectionManager``, or
``NoCoordinatorManager`` for a participant without one); the rest is the stock SDK.
"""

from __future__ import annotations

from typing import Any

from getstream import AsyncStream
from getstream.video.rtc.tracks import SubscriptionConfig, TrackSubscriptionConfig

from pipecat_getstream.stacks.aiortc.sdk import RoutedConnectionManager
from pipecat_getstream.testing.kit.aiortc_backend import AiortcBackend
from tests.server.routed_manager import NoCoordinatorManager

from .sdk_participant import Participant, ServerAddress


class Participant6(Participant):
    """A 3.x-6.x (aiortc) SDK participant."""

    async def _on_track_added(self, *args: Any) -> None:
        track_id, kind, user = args
        user_id = getattr(user, "user_id", "") or ""
        stream_id = self.cm.participants_state.get_stream_id_from_track_id(track_id) or ""
        screen = stream_id.split(":")[1:2] == ["TRACK_TYPE_SCREEN_SHARE"]
        name = "screen_share" if screen else kind
        self.tracks.append((user_id, name, track_id))
        if kind == "video":
            track = self.cm.subscriber_pc.add_track_subscriber(track_id)
            if track is not None:
                self._read(_recv_frames(track), user_id, name)

    @staticmethod
    def cannot_publish(codec: str, *, screen_share: bool = False) -> str | None:
        return AiortcBackend.cannot_publish(codec, screen_share)

    async def _publish_pattern(self, codec: str, source: Any, screen_share: bool) -> None:
        await self.cm.add_tracks(video=source)  # H.264 camera: all 3.x-6.x publish

    def lookup_prefix(self, user_id: str) -> str:
        """The track lookup prefix of ``user_id`` in the SDK's participant state."""
        return next(
            p.track_lookup_prefix
            for p in self.cm.participants_state.get_participants()
            if p.user_id == user_id
        )

    async def subscribe_to_late_publishers(self) -> None:
        # 3.x-6.x subscribe late joiners only when asked (as against the cloud).
        await self.cm.republish_tracks()


async def _recv_frames(track: Any) -> Any:
    while True:
        yield await track.recv()


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
    config = SubscriptionConfig(default=TrackSubscriptionConfig(track_types=list(track_types)))
    stream = client
    # Token-only clients (SDK >= 3.5) pass their own token; older SDKs mint one.
    token_only = getattr(stream, "has_api_secret", True) is False
    cm = (RoutedConnectionManager if coordinator else NoCoordinatorManager)(
        call=client.video.call(call_type, call_id),
        user_id=user_id,
        subscription_config=config,
        coordinator_uri=server.coordinator_ws_url,
        user_token=stream.token if token_only else None,
        **kwargs,
    )
    cm._network_monitor.connectivity_hosts = ["127.0.0.1"]  # no pings to the internet
    return Participant6(call_id, user_id, cm)


PARTICIPANT_CLASS: type[Participant] = Participant6
