"""One GetStream call and its lifecycle, whichever SDK generation runs it.

:class:`GetstreamClient` owns the call's stack (:mod:`pipecat_getstream.stacks`, chosen by
the installed SDK), the transport's one REST client, the call's roster
(:class:`~pipecat_getstream.call.roster.CallRoster`) and the event dispatcher. Input and
output processors share one client: ``connect``/``disconnect`` are reference-counted, so
the call is joined once and left when the last user releases it. What the stack reports
is turned into ordered transport events on one bounded queue.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from loguru import logger

from pipecat_getstream.call.custom_events import (
    encode_custom_event,
    parse_incoming_event,
    sender_id,
)
from pipecat_getstream.call.dispatch import EmitFn, EventDispatcher
from pipecat_getstream.call.redaction import LogRedaction
from pipecat_getstream.call.retry import with_backoff
from pipecat_getstream.call.roster import CallRoster
from pipecat_getstream.call.validation import check_token_user
from pipecat_getstream.errors import (
    GetstreamConnectionError,
    GetstreamJoinError,
    GetstreamNotConnectedError,
    describe_error,
)
from pipecat_getstream.people.participant_info import ParticipantInfo
from pipecat_getstream.stacks import (
    AudioSink,
    AudioSpec,
    CallStack,
    RestClient,
    StackConfig,
    TrackKind,
    VideoSink,
    VideoSource,
    VideoSpec,
    create_stack,
)

AudioHandler = Callable[[str, np.ndarray, int, int], None]
VideoHandler = Callable[[str, VideoSource, str], None]


class GetstreamClient:
    """Joins one call through the installed GetStream SDK and reports what happens in it.

    A join that fails for good (after retries) is final: :attr:`join_error` keeps it and
    every later :meth:`connect` raises it at once.

    Args:
        config: The call, the credentials (validated) and what to receive and publish.
        emit: ``await emit(event_name, *args)`` runs the transport's event handlers.
        join_attempts: Attempts at joining before giving up (server errors only).

    """

    def __init__(self, config: StackConfig, emit: EmitFn, join_attempts: int = 3):
        if config.token is not None:
            check_token_user(config.token, config.user_id)
        # On the SDK's loggers while joined.
        self._redaction = LogRedaction(config.api_secret, config.token)
        self._config = config
        self.call_type = config.call_type
        self.call_id = config.call_id
        self.user_id = config.user_id
        self.base_url = config.base_url
        self._emit = emit
        self._join_attempts = max(1, join_attempts)
        #: The transport's one REST client (the stack's, captions', custom events').
        self.rest = RestClient(config.api_key, config.api_secret, config.token, config.base_url)
        self._users = 0
        self._connect_lock = asyncio.Lock()
        self._stack: CallStack | None = None
        self._events = EventDispatcher(emit, repr(self))
        self._roster = CallRoster(config.user_id, self._events)
        self.join_error: GetstreamJoinError | None = None
        self._audio_handler: AudioHandler | None = None
        self._video_handler: VideoHandler | None = None
        self._pending_video: list[tuple[str, VideoSource, str]] = []
        self._published = False
        self._leaving = False
        self.has_ended = False  # the call was ended (by the server or the SDK)
        self._ending: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"GetstreamClient(call={self.call_type}:{self.call_id}, user_id={self.user_id})"

    # ----------------------------------------------------------------- state
    @property
    def connected(self) -> bool:
        """Whether the bot is in the call."""
        return self._stack is not None and not self._leaving

    @property
    def stack(self) -> CallStack | None:
        """The SDK stack while connected (diagnostics; ``stack.name`` says which)."""
        return self._stack

    def participants(self) -> list[str]:
        """User ids of the remote participants in the call."""
        return self._roster.participants()

    def get_participant(self, user_id: str) -> ParticipantInfo | None:
        """The latest details of a participant in the call, or ``None``."""
        return self._roster.get(user_id)

    def set_audio_handler(self, handler: AudioHandler | None) -> None:
        """Receive every participant's audio: ``handler(user_id, samples, rate, channels)``."""
        self._audio_handler = handler

    def set_video_handler(self, handler: VideoHandler | None) -> None:
        """Receive ``(user_id, source, video_source)`` for every video track (also past ones).

        ``video_source`` is Pipecat's name: ``"camera"`` or ``"screenVideo"``.
        """
        self._video_handler = handler
        if handler is not None:
            pending, self._pending_video = self._pending_video, []
            for user_id, source, video_source in pending:
                handler(user_id, source, video_source)

    # ------------------------------------------------------------ lifecycle
    async def connect(self) -> None:
        """Join the call (once; later callers share the connection).

        Raises:
            GetstreamJoinError: If the call cannot be joined (now or at an earlier
                attempt); its message and ``cause`` say why.
            GetstreamConfigError: If the installed SDK cannot use the credentials given.

        """
        async with self._connect_lock:
            if self.join_error is not None:
                raise self.join_error
            self._users += 1
            if self._stack is not None:
                return
            try:
                await self._join_with_retries()
            except BaseException as exc:
                # Failed or cancelled half-way (e.g. the pipeline was cancelled while joining):
                # leave whatever was set up, so nothing stays connected behind the caller.
                self._users -= 1
                if isinstance(exc, GetstreamJoinError):
                    self.join_error = exc
                await asyncio.shield(self._unredacting_after(self._abandon(final=True)))
                raise

    async def disconnect(self) -> None:
        """Release the connection; the last release leaves the call."""
        async with self._connect_lock:
            self._users = max(0, self._users - 1)
            if self._users > 0 or self._stack is None:
                return
            await self._unredacting_after(self._leave())

    async def close(self) -> None:
        """Leave at once, whatever the reference count."""
        async with self._connect_lock:
            self._users = 0
            if self._stack is not None:
                await self._unredacting_after(self._leave())

    async def publish(
        self, audio: AudioSpec | None = None, video: VideoSpec | None = None
    ) -> tuple[AudioSink | None, VideoSink | None]:
        """Publish the bot's tracks (once per join) and return where to write them.

        Raises:
            GetstreamNotConnectedError: If the bot is not in the call.

        """
        if self._stack is None:
            raise GetstreamNotConnectedError("cannot publish tracks: not connected to the call")
        if self._published or (audio is None and video is None):
            return None, None
        self._published = True
        return await self._stack.publish(audio, video)

    async def subscribe_screen_share(self) -> None:
        """Receive participants' screen shares from now on (also after a later join)."""
        self._config = dataclasses.replace(self._config, subscribe_screen_share=True)
        if self._stack is not None:
            await self._stack.subscribe_screen_share()

    async def publish_screen_share(self, video: VideoSpec) -> VideoSink | None:
        """Publish the bot's screen share; ``None`` when the SDK cannot.

        Raises:
            GetstreamNotConnectedError: If the bot is not in the call.

        """
        if self._stack is None:
            raise GetstreamNotConnectedError("cannot publish a screen share: not connected")
        return await self._stack.publish_screen_share(video)

    async def send_custom_event(self, payload: dict[str, Any]) -> None:
        """Validate and send a custom event to everyone watching the call.

        Raises:
            ValueError: If the payload is not a JSON-serialisable dict of at most 5 KB
                (checked before any network call).
            GetstreamNotConnectedError: If the bot is not in the call.
            GetstreamConnectionError: If GetStream refuses or cannot be reached.

        """
        custom = encode_custom_event(payload)
        stack = self._stack
        if stack is None or not self.connected:
            raise GetstreamNotConnectedError(
                "cannot send a custom event: the transport is not connected to the call"
            )
        try:
            await stack.send_custom_event(custom)
        except Exception as exc:
            raise GetstreamConnectionError(
                f"sending a custom event failed: {describe_error(exc)}"
            ) from exc

    # ------------------------------------------------------------- joining
    async def _join_with_retries(self) -> None:
        await with_backoff(
            self._join,
            attempts=self._join_attempts,
            cleanup=self._abandon,
            what=f"join call {self.call_type}:{self.call_id} at {self.base_url}",
        )

    async def _join(self) -> None:
        self._redaction.attach()
        stack = create_stack(self._config, self, self.rest)
        self._stack = stack
        self._leaving = False
        self.has_ended = False
        self._events.start()
        await stack.join()
        self._redaction.attach()  # also on the loggers the join created
        self._seed_participants()
        logger.info(f"{self} joined the call ({stack.name} stack)")
        self._events.post("on_connected", ())

    async def _unredacting_after(self, leaving: Awaitable[None]) -> None:
        # The last step of a call (left, or the join given up): the SDK's loggers lose this
        # client's secret filter when it ends, however it ends.
        try:
            await leaving
        finally:
            self._redaction.detach()

    async def _abandon(self, final: bool = False) -> None:
        # Undo a failed join attempt; ``final``: no attempt follows, release the REST client.
        stack, self._stack = self._stack, None
        if stack is not None:
            self._leaving = True
            await stack.leave()
        self._published = False
        self._roster.clear(self.has_ended)
        await self._events.stop()
        if final:
            await self.rest.close()

    async def _leave(self) -> None:
        stack = self._stack
        if stack is None:
            return
        await self._emit("on_before_disconnect")
        self._leaving = True
        await stack.leave()
        self._stack = None
        self._published = False
        self._pending_video.clear()
        gone = self._roster.clear(self.has_ended)
        if self.has_ended:  # everyone left with the call: on_participant_left(id, "call_ended")
            self._events.post_all(gone)
        self._events.post("on_disconnected", ())
        await self._events.stop()
        await self.rest.close()
        logger.info(f"{self} left the call")

    def _seed_participants(self) -> None:
        """Register everyone the SDK reports in the call (at join or after a rejoin)."""
        if self._stack is not None:
            self._roster.seed(self._stack)

    # ------------------------------------------------- StackListener (the stack calls)
    # People go to the roster, which posts the events they cause.
    def participant_joined(self, user_id: str, session_id: str) -> None:
        """A remote participant session is in the call."""
        self._roster.joined(user_id, session_id)

    def participant_left(self, user_id: str, session_id: str) -> None:
        """A remote participant session left (reported once its reason is known)."""
        self._roster.left(user_id, session_id)

    def track_subscribed(self, user_id: str, session_id: str, kind: TrackKind) -> None:
        """The bot receives a participant's track."""
        self._roster.track_subscribed(user_id, session_id, kind)

    def track_unsubscribed(self, user_id: str, kind: TrackKind) -> None:
        """The bot no longer receives a participant's track."""
        self._roster.track_unsubscribed(user_id, kind)

    def participant_updated(self, info: ParticipantInfo, changed: bool) -> None:
        """The SFU described a participant."""
        self._roster.updated(info, changed)

    def dominant_speaker_changed(self, user_id: str) -> None:
        """The SFU named a new dominant speaker."""
        self._roster.speaker(user_id)

    def coordinator_event(self, event: dict[str, Any]) -> None:
        """A coordinator event (departure reasons)."""
        self._roster.coordinator_event(event)

    def audio_received(
        self, user_id: str, samples: np.ndarray, sample_rate: int, channels: int
    ) -> None:
        """Pass a participant's audio to the input processor."""
        handler = self._audio_handler
        if handler is not None and not self._leaving:
            handler(user_id, samples, sample_rate, channels)

    def video_track(self, user_id: str, source: VideoSource, video_source: str = "camera") -> None:
        """Pass a participant's video to the input processor (kept until it asks)."""
        if self._video_handler is not None:
            self._video_handler(user_id, source, video_source)
        else:
            self._pending_video.append((user_id, source, video_source))

    def custom_event(self, event: Any) -> None:
        """Validate a received custom event; the bot's own are not echoed."""
        parsed = parse_incoming_event(event)
        if parsed is None or sender_id(parsed) == self.user_id:
            return
        self._events.post("on_stream_custom_event", (parsed,))

    def call_ended(self) -> None:
        """The call is over: report it once and leave at once."""
        if self.has_ended or self._leaving:
            return
        self.has_ended = True
        logger.info(f"{self} the call was ended by the server")
        self._events.post("on_call_ended", ())
        # Leave at once: a server close after call_ended can otherwise trigger a reconnect
        # into the ended call. Not awaited here (this is an SDK callback).
        self._ending = asyncio.get_running_loop().create_task(self.close())

    def reconnecting(self) -> None:
        """The SDK is reconnecting."""
        self._events.post("on_reconnecting", ())

    def reconnected(self, rejoined: bool) -> None:
        """The SDK is back; after a rejoin, pick up who joined while we were away."""
        logger.info(f"{self} reconnected ({'rejoin' if rejoined else 'fast reconnect'})")
        self._events.post("on_reconnected", ())
        if rejoined:
            self._seed_participants()

    def reconnect_failed(self, reason: str) -> None:
        """The SDK gave up reconnecting."""
        logger.error(f"{self} reconnection failed: {reason}")
        self._events.post("on_reconnect_failed", (reason,))
