"""``GetstreamTransport``: a Pipecat transport that joins a GetStream.io WebRTC call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from loguru import logger
from pipecat.frames.frames import Frame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.transports.base_transport import BaseTransport

from pipecat_getstream.call.client import GetstreamClient
from pipecat_getstream.call.dispatch import fit_arguments
from pipecat_getstream.call.validation import (
    check_base_url,
    check_call_id,
    check_call_type,
    check_credentials,
    check_user_id,
)
from pipecat_getstream.errors import GetstreamError
from pipecat_getstream.params import GetstreamParams, validate_params
from pipecat_getstream.people.participant_info import ParticipantInfo, check_user_name
from pipecat_getstream.pipeline.captions import CaptionTarget, ClosedCaptions
from pipecat_getstream.pipeline.events import (
    EVENTS,
    GROWN_EVENTS,
    SYNC_EVENTS,
    TransportEvent,
    event_arguments,
)
from pipecat_getstream.pipeline.frames import (
    BotConnectedFrame,
    ClientConnectedFrame,
    EndPipelineFrame,
    push_fatal_error,
)
from pipecat_getstream.pipeline.input import GetstreamInputTransport
from pipecat_getstream.pipeline.output import GetstreamOutputTransport
from pipecat_getstream.stacks.base import CAMERA, SCREEN_VIDEO, StackConfig

__all__ = ["GetstreamParams", "GetstreamTransport"]

#: Pipecat's error category for each cause of a failed join.
_JOIN_FAILURE_CATEGORY = {
    "credentials": "authentication",
    "token_expired": "authentication",
    "unreachable": "connectivity",
}


class GetstreamTransport(BaseTransport):
    """Puts a Pipecat pipeline into a GetStream call as a participant.

    Its events, and each handler's arguments after the transport, are listed in
    :class:`~pipecat_getstream.pipeline.events.GetstreamCallbacks`. A join that fails for
    good (refused credentials, an expired token, an unreachable server) is reported as
    a fatal error naming the cause, and the pipeline ends.

    Participant ids are GetStream user ids. Exactly one of ``api_secret`` and ``token`` must
    be given. The installed GetStream SDK decides the media stack (aiortc for 3.3.3-6.x,
    the Rust core for 7.x); the API and events are the same on both. Creating a transport
    changes nothing process-wide; on 3.3.3-6.x, processes with many calls may opt in to
    :func:`pipecat_getstream.speedups.install_fast_audio_level`.

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
        user_name: The bot's display name, shown to participants (default: its user id).
            With ``api_secret`` the bot user is upserted with it before the join.

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
        user_name: str | None = None,
    ):
        super().__init__(input_name=input_name, output_name=output_name)
        check_credentials(api_key, api_secret, token)
        self._params = params if params is not None else GetstreamParams()
        validate_params(self._params)
        config = StackConfig(
            api_key=api_key,
            api_secret=api_secret or None,
            token=token or None,
            call_type=check_call_type(call_type),
            call_id=check_call_id(call_id),
            user_id=check_user_id(user_id),
            base_url=check_base_url(base_url),
            subscribe_audio=self._params.audio_in_enabled,
            subscribe_video=self._params.video_in_enabled,
            user_name=check_user_name(user_name),
            subscribe_screen_share=self._params.video_in_enabled
            and SCREEN_VIDEO in self._params.video_in_sources,
            publish_screen_share=self._params.video_out_enabled
            and SCREEN_VIDEO in self._params.video_out_destinations,
        )
        self._client = GetstreamClient(config, self._on_client_event)
        self._input: GetstreamInputTransport | None = None
        self._output: GetstreamOutputTransport | None = None
        self._fitted: dict[tuple[str, Any], Any] = {}
        self._captions = (
            ClosedCaptions(CaptionTarget(call_type, call_id, user_id), self._client.rest)
            if self._params.closed_captions
            else None
        )
        self._join_failure_reported = False
        # What the transport itself does on some events, before the user's handlers run.
        self._reactions: dict[TransportEvent, Callable[..., Awaitable[None]]] = {
            "on_stream_custom_event": self._push_app_message,
            "on_call_ended": self._end_pipeline,
            "on_participant_left": self._forget_participant,
            "on_audio_track_unsubscribed": self._audio_track_ended,
            "on_connected": self._push_bot_connected,
            "on_client_connected": self._push_client_connected,
        }
        for name in EVENTS:
            self._register_event_handler(name, sync=name in SYNC_EVENTS)

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

    @property
    def closed_captions(self) -> ClosedCaptions | None:
        """The caption poster with ``closed_captions=True`` (``None`` otherwise)."""
        return self._captions

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

    def get_participant(self, participant_id: str) -> ParticipantInfo | None:
        """What the call knows of a participant now.

        Name, image, roles, custom data, published tracks and whether they are speaking.

        Args:
            participant_id: The participant's user id.

        Returns:
            A :class:`~pipecat_getstream.people.participant_info.ParticipantInfo`, or ``None`` when
            the participant is not in the call.

        """
        return self._client.get_participant(participant_id)

    def add_event_handler(self, event_name: str, handler: Any) -> None:
        """Add an event handler (see the class docstring for each event's arguments)."""
        if event_name in GROWN_EVENTS:
            count = 1 + len(event_arguments(cast(TransportEvent, event_name)))
            fitted = fit_arguments(handler, count)
            if fitted is not handler:
                self._fitted[(event_name, handler)] = fitted
                handler = fitted
        super().add_event_handler(event_name, handler)

    def remove_event_handler(self, event_name: str, handler: Any) -> None:
        """Remove a handler added with :meth:`add_event_handler` or ``event_handler``."""
        handler = self._fitted.pop((event_name, handler), handler)
        super().remove_event_handler(event_name, handler)

    async def capture_participant_audio(
        self,
        participant_id: str,
        audio_source: str = "microphone",
        sample_rate: int | None = None,
    ) -> None:
        """Hear ``participant_id``: once called, only the chosen participants are heard.

        Applies to both per-participant streams and the mixed stream
        (``audio_in_user_tracks=False``). Until it is first called, everyone is heard.

        Args:
            participant_id: The participant's user id.
            audio_source: ``"microphone"`` (GetStream calls carry no other audio source).
            sample_rate: Accepted for compatibility with Pipecat's signature; audio always
                arrives at ``audio_in_sample_rate``.

        Raises:
            GetstreamConfigError: If ``participant_id`` is not a valid user id.

        """
        check_user_id(participant_id)
        if audio_source != "microphone":
            logger.warning(f"{self}: only the microphone can be captured, not {audio_source!r}")
            return
        rate = self._params.audio_in_sample_rate
        if sample_rate is not None and sample_rate != rate:
            logger.warning(
                f"{self}: audio arrives at audio_in_sample_rate={rate}, not {sample_rate}"
            )
        self.input().capture_audio(participant_id)

    async def capture_participant_video(
        self,
        participant_id: str,
        framerate: int | None = 30,
        video_source: str = "camera",
        color_format: str = "RGB",
        *,
        on_request_only: bool = False,
    ) -> None:
        """Receive a participant's camera or screen share at up to ``framerate`` fps.

        Needs ``video_in_enabled``. Once any source is captured explicitly, only captured
        sources (and those in ``video_in_sources``) reach the pipeline. Capturing
        ``"screenVideo"`` subscribes to screen shares. Images arrive as
        ``UserImageRawFrame`` with ``transport_source`` set to the source.

        Args:
            participant_id: The participant's user id.
            framerate: Maximum frames per second (``None`` or 0: every frame).
            video_source: ``"camera"`` or ``"screenVideo"``.
            color_format: ``"RGB"`` (the only format delivered).
            on_request_only: Pass on only frames that answer a ``UserImageRequestFrame``.

        """
        if video_source not in (CAMERA, SCREEN_VIDEO):
            logger.warning(
                f"{self}: only {CAMERA!r} and {SCREEN_VIDEO!r} can be captured, "
                f"not {video_source!r}"
            )
            return
        if not self._params.video_in_enabled:
            logger.warning(f"{self}: capture_participant_video needs video_in_enabled=True")
            return
        if color_format.upper() != "RGB":
            logger.warning(f"{self}: video arrives as RGB, not {color_format!r}")
        rate = 0 if on_request_only else (framerate if framerate and framerate > 0 else None)
        await self.input().capture_video(participant_id, rate, video_source)

    def get_client_id(self, client: Any) -> str:
        """The id of a client as passed to ``on_client_connected`` (a participant id)."""
        return str(client)

    async def join_failed(self, processor: FrameProcessor, error: GetstreamError) -> None:
        """Report a join that failed for good, once: a fatal error that ends the pipeline.

        Called by the input and output processors when joining fails; the first report
        pushes the error (its message names the cause) and cancels the pipeline, later
        ones do nothing.

        Args:
            processor: The processor whose start failed.
            error: The error ``connect`` raised.

        """
        if self._join_failure_reported:
            return
        self._join_failure_reported = True
        category = _JOIN_FAILURE_CATEGORY.get(getattr(error, "cause", ""), "unknown")
        await push_fatal_error(processor, str(error), error, category)

    async def _on_client_event(self, name: TransportEvent, *args: Any) -> None:
        reaction = self._reactions.get(name)
        if reaction is not None:
            await reaction(*args)
        await self._call_event_handler(name, *args)

    async def _push_app_message(self, event: dict[str, Any], *_: Any) -> None:
        if self._input is not None:
            await self._input.push_app_message(event)

    async def _forget_participant(self, participant_id: str, *_: Any) -> None:
        if self._input is not None:
            await self._input.participant_left(participant_id)

    async def _audio_track_ended(self, participant_id: str) -> None:
        if self._input is not None:
            self._input.audio_track_ended(participant_id)

    async def _push_bot_connected(self) -> None:
        if BotConnectedFrame is not None:
            await self._push_system_frame(BotConnectedFrame())

    async def _push_client_connected(self, *_: Any) -> None:
        if ClientConnectedFrame is not None:
            await self._push_system_frame(ClientConnectedFrame())

    async def _push_system_frame(self, frame: Frame) -> None:
        if self._input is not None:
            await self._input.push_frame(frame)

    async def _end_pipeline(self) -> None:
        processor = self._input or self._output
        if processor is None:
            return
        logger.info(f"{self} call ended by the server: ending the pipeline")
        await processor.push_frame(EndPipelineFrame(), FrameDirection.UPSTREAM)
