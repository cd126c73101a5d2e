"""The one internal interface between the transport and a GetStream SDK generation.

A *stack* joins one call through one SDK generation and reports what happens in it to a
:class:`StackListener`. Everything above it (the reference-counted client, the participant
registry, the Pipecat processors) is SDK-agnostic; everything SDK-specific lives in one
sub-package per generation (:mod:`pipecat_getstream.stacks.aiortc` for 3.3.3-6.x,
:mod:`pipecat_getstream.stacks.rust` for 7.x). A new SDK major adds or changes one folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import av
import numpy as np

from pipecat_getstream.people.participant_info import ParticipantInfo

#: What the registry tracks per participant (``"screen_share"``: screen-share video).
TrackKind = Literal["audio", "video", "screen_share"]

#: Pipecat's names of the video sources a participant can send.
CAMERA = "camera"
SCREEN_VIDEO = "screenVideo"


@dataclass(frozen=True)
class StackConfig:
    """What a stack needs to join one call (validated by the transport).

    Attributes:
        api_key: GetStream API key.
        api_secret: API secret, or ``None`` with ``token``.
        token: A pre-minted user JWT, or ``None`` with ``api_secret``.
        call_type: Call type.
        call_id: Call id.
        user_id: The bot's user id.
        base_url: API base URL; every connection (REST, coordinator, SFU) follows it.
        subscribe_audio: Receive participants' audio.
        subscribe_video: Receive participants' camera video.
        subscribe_screen_share: Receive participants' screen-share video from the start.
        publish_screen_share: The bot will publish a screen share besides its camera.
        user_name: The bot's display name (``None``: its user id).

    """

    api_key: str
    api_secret: str | None
    token: str | None
    call_type: str
    call_id: str
    user_id: str
    base_url: str
    subscribe_audio: bool = True
    subscribe_video: bool = False
    subscribe_screen_share: bool = False
    publish_screen_share: bool = False
    user_name: str | None = None

    def __repr__(self) -> str:
        # Never shows the secret or the token.
        return (
            f"StackConfig(call={self.call_type}:{self.call_id}, user_id={self.user_id}, "
            f"base_url={self.base_url!r})"
        )


@dataclass(frozen=True)
class AudioSpec:
    """The bot's outgoing audio: s16 at this rate and channel count."""

    sample_rate: int
    channels: int


@dataclass(frozen=True)
class VideoSpec:
    """The bot's outgoing camera: its initial size and frame rate."""

    width: int
    height: int
    framerate: int


class VideoSource(Protocol):
    """One participant's incoming camera, newest frame first (slow readers skip frames)."""

    async def recv(self) -> Any | None:
        """The next frame, or ``None`` when the track ended."""

    def to_rgb(self, frame: Any) -> tuple[bytes, tuple[int, int]]:
        """Packed RGB bytes and ``(width, height)`` of a frame from :meth:`recv`."""


class AudioSink(Protocol):
    """Where the bot's audio goes: the SDK's track, fed whole 20 ms frames."""

    async def write(self, audio: bytes) -> None:
        """Queue interleaved s16 audio at the published rate and channel count."""

    async def flush(self) -> None:
        """Drop every queued sample (interruption)."""

    def stop(self) -> None:
        """Stop the track (teardown)."""


class VideoSink(Protocol):
    """Where the bot's camera images go: the SDK's video track."""

    def set_frame(self, frame: av.VideoFrame) -> None:
        """Make ``frame`` (``yuv420p``) the image sent from now on."""

    def stop(self) -> None:
        """Stop sending."""


class StackListener(Protocol):
    """What a stack reports. Called on the event loop; must not block or raise."""

    def participant_joined(self, user_id: str, session_id: str) -> None:
        """A remote participant session is in the call."""

    def participant_left(self, user_id: str, session_id: str) -> None:
        """A remote participant session left."""

    def track_subscribed(self, user_id: str, session_id: str, kind: TrackKind) -> None:
        """The bot receives a participant's track."""

    def track_unsubscribed(self, user_id: str, kind: TrackKind) -> None:
        """The bot no longer receives a participant's track."""

    def audio_received(
        self, user_id: str, samples: np.ndarray, sample_rate: int, channels: int
    ) -> None:
        """A chunk of one participant's audio (``int16``, interleaved)."""

    def video_track(self, user_id: str, source: VideoSource, video_source: str = CAMERA) -> None:
        """A participant's camera (or, with ``SCREEN_VIDEO``, screen share) can be read."""

    def custom_event(self, event: Any) -> None:
        """A custom event arrived from the coordinator (unvalidated)."""

    def participant_updated(self, info: ParticipantInfo, changed: bool) -> None:
        """The SFU described a participant (``changed``: an update or a track change)."""

    def dominant_speaker_changed(self, user_id: str) -> None:
        """The SFU named a new dominant speaker (possibly the bot itself)."""

    def coordinator_event(self, event: dict[str, Any]) -> None:
        """A coordinator event other than ``custom`` (e.g. departure reasons)."""

    def call_ended(self) -> None:
        """The call was ended (by the server, or the SDK left it for good)."""

    def reconnecting(self) -> None:
        """The SDK lost its connection and is reconnecting."""

    def reconnected(self, rejoined: bool) -> None:
        """The SDK is connected again (``rejoined``: with a new SFU session)."""

    def reconnect_failed(self, reason: str) -> None:
        """The SDK gave up reconnecting."""


class CallStack(Protocol):
    """One call joined through one SDK generation.

    ``join`` raises on failure (the caller retries and then calls ``leave``); ``leave``
    never raises and never blocks the event loop. After ``leave`` the stack is spent.
    """

    #: Short name of the stack, e.g. ``"aiortc"`` or ``"rust"``.
    name: str

    async def join(self) -> None:
        """Join the call; participants already there are reported to the listener."""

    async def leave(self) -> None:
        """Leave the call and release every SDK object."""

    def participants(self) -> list[tuple[str, str]]:
        """``(user_id, session_id)`` of every other session the SDK knows of."""

    def participant_details(self) -> list[ParticipantInfo]:
        """What the SDK knows of every other session (name, roles, tracks, ...)."""

    async def publish(
        self, audio: AudioSpec | None, video: VideoSpec | None
    ) -> tuple[AudioSink | None, VideoSink | None]:
        """Publish the bot's tracks (once per join) and return where to write them."""

    async def send_custom_event(self, custom: dict[str, Any]) -> None:
        """Send a validated custom event to everyone watching the call."""

    async def subscribe_screen_share(self) -> None:
        """Receive participants' screen shares from now on (idempotent)."""

    async def publish_screen_share(self, video: VideoSpec) -> VideoSink | None:
        """Publish a screen-share track for the bot (``None``: the SDK cannot)."""
