"""``GetstreamTransport``: a Pipecat transport that joins a GetStream.io WebRTC call."""

from __future__ import annotations

from typing import Any

from loguru import logger
from pipecat.frames.frames import Frame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_transport import BaseTransport

from pipecat_getstream.client import GetstreamClient
from pipecat_getstream.frames import BotConnectedFrame, ClientConnectedFrame, EndPipelineFrame
from pipecat_getstream.input import GetstreamInputTransport
from pipecat_getstream.output import GetstreamOutputTransport
from pipecat_getstream.params import GetstreamParams, validate_params
from pipecat_getstream.speedups import install_fast_audio_level
from pipecat_getstream.validation import (
    check_base_url,
    check_call_id,
    check_call_type,
    check_credentials,
    check_user_id,
)

__all__ = ["GetstreamParams", "GetstreamTransport"]

#: Events of the spec, plus Pipecat's client conventions and reconnection/call-end extras.
EVENTS = (
    "on_connected",
    "on_disconnected",
    "on_before_disconnect",
    "on_participant_connected",
    "on_participant_disconnected",
    "on_participant_left",
    "on_first_participant_joined",
    "on_audio_track_subscribed",
    "on_audio_track_unsubscribed",
    "on_video_track_subscribed",
    "on_video_track_unsubscribed",
    "on_stream_custom_event",
    "on_client_connected",
    "on_client_disconnected",
    "on_call_ended",
    "on_reconnecting",
    "on_reconnected",
    "on_reconnect_failed",
)
_SYNC_EVENTS = ("on_before_disconnect",)


class GetstreamTransport(BaseTransport):
    """Puts a Pipecat pipeline into a GetStream call as a participant.

    Event handlers receive the transport first, then the arguments below:

    - ``on_connected()``, ``on_disconnected()``, ``on_before_disconnect()`` (awaited before
      leaving, so it can still send events);
    - ``on_participant_connected(participant_id)``, ``on_participant_disconnected(...)``,
      ``on_participant_left(...)``, ``on_first_participant_joined(...)`` (once each time
      the call goes from no participants to one);
    - ``on_audio_track_subscribed(participant_id)`` / ``..._unsubscribed``, and the same for
      video;
    - ``on_stream_custom_event(event)``: the event dict as GetStream delivers it (payload
      under ``"custom"``, sender under ``"user"``); the bot's own events are not echoed;
    - Pipecat conventions ``on_client_connected(participant_id)`` and
      ``on_client_disconnected(participant_id)``; extras ``on_call_ended()``,
      ``on_reconnecting()``, ``on_reconnected()``, ``on_reconnect_failed(reason)``.

    Participant ids are GetStream user ids. Exactly one of ``api_secret`` and ``token`` must
    be given. Creating a transport replaces aiortc's per-sample Python audio-level loop with
    an equivalent vectorised one for the whole process
    (:func:`pipecat_getstream.speedups.install_fast_audio_level`).

    Args:
        api_key: GetStream API key.
        api_secret: GetStream API secret (or ``None`` with ``token``).
        call_type: Call type, e.g. ``"default"``.
        call_id: Call id.
        user_id: The bot's user id.
        params: Transport parameters; ``GetstreamParams()`` when ``None``.
        token: A pre-minted user JWT for ``user_id``, for hosts that must not hold the
            secret (needs getstream>=3.5).
        base_url: GetStream API base URL; GetStream's cloud by default. Every connection
            (REST, coordinator WebSocket, the SFU the join returns) follows it.
        input_name: Name of the input processor.
        output_name: Name of the output processor.

    Raises:
        GetstreamConfigError: (a ``ValueError``) on invalid credentials, ids, URL or params.

    """

    def __init__(
        self,
        api_key: str,
        api_secret: str | None,
        call_type: str,
        call_id: str,
        user_id: str,
        params: GetstreamParams | None = None,
        *,
        token: str | None = None,
        base_url: str | None = None,
        input_name: str | None = None,
        output_name: str | None = None,
    ):
        super().__init__(input_name=input_name, output_name=output_name)
        check_credentials(api_key, api_secret, token)
        self._params = params if params is not None else GetstreamParams()
        validate_params(self._params)
        install_fast_audio_level()
        self._client = GetstreamClient(
            api_key=api_key,
            api_secret=api_secret or None,
            token=token or None,
            call_type=check_call_type(call_type),
            call_id=check_call_id(call_id),
            user_id=check_user_id(user_id),
            base_url=check_base_url(base_url),
            emit=self._on_client_event,
            subscribe_audio=self._params.audio_in_enabled,
            subscribe_video=self._params.video_in_enabled,
        )
        self._input: GetstreamInputTransport | None = None
        self._output: GetstreamOutputTransport | None = None
        for name in EVENTS:
            self._register_event_handler(name, sync=name in _SYNC_EVENTS)

    def __repr__(self) -> str:
        return f"{self.name}({self._client.call_type}:{self._client.call_id})"

    @property
    def call_cid(self) -> str:
        """The call's GetStream id, ``"<type>:<id>"``."""
        return f"{self._client.call_type}:{self._client.call_id}"

    @property
    def user_id(self) -> str:
        """The bot's user id."""
        return self._client.user_id

    @property
    def client(self) -> GetstreamClient:
        """The underlying call client (advanced use and diagnostics)."""
        return self._client

    def input(self) -> GetstreamInputTransport:
        """The processor that brings participants' media into the pipeline."""
        if self._input is None:
            self._input = GetstreamInputTransport(
                self, self._client, self._params, name=self._input_name
            )
        return self._input

    def output(self) -> GetstreamOutputTransport:
        """The processor that sends the bot's media to the call."""
        if self._output is None:
            self._output = GetstreamOutputTransport(
                self, self._client, self._params, name=self._output_name
            )
        return self._output

    async def send_custom_event(self, payload: dict[str, Any]) -> None:
        """Send a custom event to every client watching the call.

        Args:
            payload: A JSON-serialisable dict of at most 5 KB serialised.

        Raises:
            ValueError: If the payload is invalid or too large (before any network call).
            GetstreamNotConnectedError: If the transport is not in the call.
            GetstreamConnectionError: If GetStream refuses the event or cannot be reached.

        """
        await self._client.send_custom_event(payload)

    def get_participants(self) -> list[str]:
        """User ids of the remote participants now in the call."""
        return self._client.participants()

    async def capture_participant_video(
        self,
        participant_id: str,
        framerate: int | None = 30,
        video_source: str = "camera",
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """Receive a participant's camera at up to ``framerate`` frames per second.

        Needs ``video_in_enabled``. Once a participant is captured explicitly, only
        captured participants' video reaches the pipeline. Only the camera is supported.

        Args:
            participant_id: The participant's user id.
            framerate: Maximum frames per second (``None`` or 0: every frame).
            video_source: ``"camera"``.
            *args: Accepted for compatibility with Pipecat's signature.
            **kwargs: Accepted for compatibility (``on_request_only`` is not supported).

        """
        if video_source != "camera":
            logger.warning(f"{self}: only the camera can be captured, not {video_source!r}")
            return
        if not self._params.video_in_enabled:
            logger.warning(f"{self}: capture_participant_video needs video_in_enabled=True")
            return
        self.input().capture(participant_id, framerate)

    def get_client_id(self, client: Any) -> str:
        """The id of a client as passed to ``on_client_connected`` (a participant id)."""
        return str(client)

    async def _on_client_event(self, name: str, *args: Any) -> None:
        if name == "on_stream_custom_event" and self._input is not None:
            await self._input.push_app_message(args[0])
        elif name == "on_call_ended":
            await self._end_pipeline()
        elif name == "on_connected" and BotConnectedFrame is not None:
            await self._push_system_frame(BotConnectedFrame())
        elif name == "on_client_connected" and ClientConnectedFrame is not None:
            await self._push_system_frame(ClientConnectedFrame())
        await self._call_event_handler(name, *args)

    async def _push_system_frame(self, frame: Frame) -> None:
        if self._input is not None:
            await self._input.push_frame(frame)

    async def _end_pipeline(self) -> None:
        processor = self._input or self._output
        if processor is None:
            return
        logger.info(f"{self} call ended by the server: ending the pipeline")
        await processor.push_frame(EndPipelineFrame(), FrameDirection.UPSTREAM)
