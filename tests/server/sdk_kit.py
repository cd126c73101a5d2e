"""Real GetStream SDK participants for the server tests, on SDK 3.x-6.x and on 7.x.

One environment holds one SDK generation. ``Participant`` is the small interface the
tests use; ``SdkKit.participant`` builds the implementation for the installed SDK:

* ``Participant6`` (:mod:`tests.server.sdk_participant6`) wraps the SDK's aiortc ``ConnectionManager`` (3.x-6.x);
* ``Participant7`` (:mod:`tests.server.sdk_participant7`) wraps the 7.x ``ConnectionManager`` over the Rust core
  (``getstream_rtc``), publishing with its own ``add_tracks`` where it can.

In both, only the coordinator WebSocket URL is routed to the local server (the SDKs
hard-code the cloud's), by the project's routed managers
(:mod:`pipecat_getstream.stacks.aiortc.sdk`, :mod:`tests.server.routed_manager`);
everything else is the stock SDK. ``peer.py`` runs it in the project's environment of the
other SDK generation.
"""

from __future__ import annotations

from typing import Any

from getstream import AsyncStream
from getstream.video.rtc.pb.stream.video.sfu.models.models_pb2 import (
    TRACK_TYPE_AUDIO,
    TRACK_TYPE_VIDEO,
)

from .sdk_media import (  # noqa: F401 - the tests import these from here
    SAMPLE_RATE,
    AudioLog,
    AudioSource,
    PatternTrack,
    api_error,
    dominant_frequency,
    median_frequency,
    mono,
    rms,
    tone,
    wait_for,
)
from .sdk_participant import (  # noqa: F401 - the tests import these from here
    GENERATION,
    SDK7,
    SDK_MAJOR,
    SDK_VERSION,
    Participant,
    ServerAddress,
)

if SDK7:
    from .sdk_participant7 import PARTICIPANT_CLASS, make_participant
else:
    from .sdk_participant6 import PARTICIPANT_CLASS, make_participant  # type: ignore[assignment]

__all__ = ["PARTICIPANT_CLASS", "SdkKit"]


class SdkKit:
    """Creates participants of the installed SDK generation for one server."""

    generation = GENERATION

    def __init__(self, server: Any) -> None:
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
    ) -> Participant:
        """Return a (not yet joined) participant for ``user_id``."""
        return make_participant(
            self.server,
            client or self.client,
            call_type,
            call_id,
            user_id,
            track_types,
            coordinator,
            **kwargs,
        )

    async def send_custom(self, call_id: str, user_id: str, custom: dict[str, Any]) -> None:
        """Send a custom event as ``user_id`` through the REST API."""
        await self.client.video.call("default", call_id).send_call_event(
            user_id=user_id, custom=custom
        )
