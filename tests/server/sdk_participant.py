"""The server tests' SDK participant: what both SDK generations' wrappers share.

:class:`Participant` listens to the SDK ``ConnectionManager``'s events (audio, custom
events, joins, leaves, tracks) and records them; the generation modules
(:mod:`tests.server.sdk_participant6`, :mod:`tests.server.sdk_participant7`) add track
handling and publishing.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import time
from typing import Any, Protocol

from getstream.video.rtc import PcmData
from getstream.video.rtc.audio_track import AudioStreamTrack

from .sdk_media import SAMPLE_RATE, AudioLog, AudioSource, PatternTrack

SDK_VERSION = importlib.metadata.version("getstream")
SDK_MAJOR = int(SDK_VERSION.split(".")[0])
SDK7 = SDK_MAJOR >= 7
GENERATION = "7.x" if SDK7 else "3.x-6.x"
#: Track type numbers of the SFU protocol, by the names the tests use.
KIND_NAMES = {1: "audio", 2: "video", 3: "screen_share", 4: "screen_share_audio"}


class ServerAddress(Protocol):
    """What a participant needs of a server (a ``LocalStreamServer`` or its URLs)."""

    api_key: str
    api_secret: str

    @property
    def base_url(self) -> str: ...

    @property
    def coordinator_ws_url(self) -> str: ...


# --------------------------------------------------------------------- participants
class Participant:
    """One real SDK participant of a call, with everything it received.

    Use as ``async with participant:`` (join, then leave). Received media and events
    accumulate in ``audio``, ``video``, ``tracks``, ``custom``, ``joined``, ``left``
    and ``ended``.

    Attributes:
        generation: ``"3.x-6.x"`` or ``"7.x"``.
        cm: The SDK's ConnectionManager (for SDK-specific checks).

    """

    generation = GENERATION

    def __init__(self, call_id: str, user_id: str, cm: Any) -> None:
        self.call_id, self.user_id, self.cm = call_id, user_id, cm
        self.audio = AudioLog()
        #: ``(arrival time, publisher user id, track type name, width, height)``
        self.video: list[tuple[float, str, str, int, int]] = []
        #: ``(publisher user id, track type name, SDK track id or "")``
        self.tracks: list[tuple[str, str, str]] = []
        self.custom: list[tuple[float, dict[str, Any]]] = []
        self.joined: list[str] = []
        self.left: list[str] = []
        self.ended: list[Any] = []
        self._readers: list[asyncio.Task[None]] = []
        cm.on("audio", self._on_audio)
        cm.on("custom", self._on_custom)
        cm.on("participant_joined", self._on_joined)
        cm.on("participant_left", self._on_left)
        cm.on("call_ended", self._on_ended)
        cm.on("track_added", self._on_track_added)

    # events common to both generations
    async def _on_audio(self, pcm: PcmData) -> None:
        self.audio.add(pcm)

    async def _on_custom(self, event: dict[str, Any]) -> None:
        self.custom.append((time.perf_counter(), event))

    async def _on_joined(self, event: Any) -> None:
        user_id = event.participant.user_id
        if user_id != self.user_id and user_id not in self.joined:
            self.joined.append(user_id)  # 7.x also announces those already in the call

    async def _on_left(self, event: Any) -> None:
        self.left.append(event.participant.user_id)

    async def _on_ended(self, *args: Any) -> None:
        self.ended.append(args)

    async def _on_track_added(self, *args: Any) -> None:
        raise NotImplementedError

    def _read(self, frames: Any, user_id: str, kind: str) -> None:
        async def read() -> None:
            with contextlib.suppress(Exception):
                async for frame in frames:
                    self.video.append(
                        (time.perf_counter(), user_id, kind, frame.width, frame.height)
                    )

        self._readers.append(asyncio.ensure_future(read()))

    # lifecycle
    async def __aenter__(self) -> Participant:
        await self.cm.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.leave()

    async def leave(self) -> None:
        """Leave the call (once); stop reading video."""
        for reader in self._readers:
            reader.cancel()
        for reader in self._readers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        self._readers.clear()
        if not getattr(self, "_left", False):
            self._left = True
            await self.cm.leave()

    # what tests call
    async def publish_audio(self) -> AudioSource:
        """Publish the SDK's own audio track; returns it for writing tones."""
        track = AudioStreamTrack(sample_rate=SAMPLE_RATE)
        await self.cm.add_tracks(audio=track)
        return AudioSource(track)

    async def publish_video(
        self, codec: str, width: int = 320, height: int = 240, *, screen_share: bool = False
    ) -> None:
        """Publish a 30 fps test pattern as camera video (or screen share).

        Raises:
            NotImplementedError: When this SDK generation cannot publish it (says why).

        """
        reason = self.cannot_publish(codec, screen_share=screen_share)
        if reason:
            raise NotImplementedError(reason)
        await self._publish_pattern(codec.lower(), PatternTrack(width, height), screen_share)

    async def _publish_pattern(self, codec: str, source: Any, screen_share: bool) -> None:
        raise NotImplementedError

    @staticmethod
    def cannot_publish(codec: str, *, screen_share: bool = False) -> str | None:
        """Why this SDK generation cannot publish ``codec`` stock, or ``None``."""
        raise NotImplementedError

    def participants(self) -> list[str]:
        """User ids in the SDK's participant state (this participant included)."""
        return sorted(p.user_id for p in self.cm.participants_state.get_participants())

    def publishers(self) -> list[str]:
        """User ids of the participants the SDK knows to publish tracks."""
        return sorted(
            p.user_id for p in self.cm.participants_state.get_participants() if p.published_tracks
        )

    async def subscribe_to_late_publishers(self) -> None:
        """Ask the SDK for tracks published before it joined, where it needs asking."""

    def video_from(self, user_id: str, kind: str = "video") -> list[tuple[float, int, int]]:
        """``(arrival, width, height)`` of the video frames received from ``user_id``."""
        return [(at, w, h) for at, u, k, w, h in self.video if u == user_id and k == kind]
