"""One GetStream call and its lifecycle, whichever SDK generation runs it.

:class:`GetstreamClient` owns the call's stack (:mod:`pipecat_getstream.stacks`, chosen by
the installed SDK), the participant registry and the event dispatcher. Input and output
processors share one client: ``connect``/``disconnect`` are reference-counted, so the call
is joined once and left when the last user releases it. What the stack reports is turned
into ordered transport events on one bounded queue.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
from loguru import logger

from pipecat_getstream.call.custom_events import (
    encode_custom_event,
    parse_incoming_event,
    sender_id,
)
from pipecat_getstream.call.dispatch import EmitFn, EventDispatcher
from pipecat_getstream.call.people import ClientPeople
from pipecat_getstream.call.redaction import protect_sdk_logs
from pipecat_getstream.call.retry import with_backoff
from pipecat_getstream.call.validation import check_token_user
from pipecat_getstream.errors import (
    GetstreamConnectionError,
    GetstreamNotConnectedError,
    describe_error,
)
from pipecat_getstream.people.registry import ParticipantRegistry
from pipecat_getstream.stacks import (
    AudioSink,
    AudioSpec,
    CallStack,
    StackConfig,
    TrackKind,
    VideoSink,
    VideoSource,
    VideoSpec,
    create_stack,
)

AudioHandler = Callable[[str, np.ndarray, int, int], None]
VideoHandler = Callable[[str, VideoSource, str], None]


class GetstreamClient(ClientPeople):
    """Joins one call through the installed GetStream SDK and reports what happens in it.

    Args:
        api_key: GetStream API key.
        api_secret: API secret, or ``None`` when ``token`` is given.
        token: A pre-minted user JWT for ``user_id``, or ``None``.
        call_type: Call type, e.g. ``"default"``.
        call_id: Call id.
        user_id: The bot's user id.
        base_url: API base URL (validated, without trailing slash).
        emit: ``await emit(event_name, *args)`` runs the transport's event handlers.
        subscribe_audio: Whether to receive participants' audio.
        subscribe_video: Whether to receive participants' video.
        subscribe_screen_share: Whether to receive participants' screen shares from the start.
        publish_screen_share: Whether the bot will publish a screen share.
        join_attempts: Attempts at joining before giving up (server errors only).
        user_name: The bot's display name (``None``: its user id).

    """

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str | None,
        token: str | None,
        call_type: str,
        call_id: str,
        user_id: str,
        base_url: str,
        emit: EmitFn,
        subscribe_audio: bool = True,
        subscribe_video: bool = False,
        subscribe_screen_share: bool = False,
        publish_screen_share: bool = False,
        join_attempts: int = 3,
        user_name: str | None = None,
    ):
        if token is not None:
            check_token_user(token, user_id)
        protect_sdk_logs(api_secret, token)
        self._config = StackConfig(
            api_key=api_key,
            api_secret=api_secret,
            token=token,
            call_type=call_type,
            call_id=call_id,
            user_id=user_id,
            base_url=base_url,
            subscribe_audio=subscribe_audio,
            subscribe_video=subscribe_video,
            subscribe_screen_share=subscribe_screen_share,
            publish_screen_share=publish_screen_share,
            user_name=user_name,
        )
        self.call_type = call_type
        self.call_id = call_id
        self.user_id = user_id
        self.base_url = base_url
        self._emit = emit
        self._join_attempts = max(1, join_attempts)
        self._registry = ParticipantRegistry(user_id)
        self._init_people(user_id)
        self._users = 0
        self._connect_lock = asyncio.Lock()
        self._stack: CallStack | None = None
        self._events = EventDispatcher(emit, repr(self))
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
        return self._registry.participants()

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
            GetstreamConnectionError: If the call cannot be joined; the message says why.

        """
        async with self._connect_lock:
            self._users += 1
            if self._stack is not None:
                return
            try:
                await self._join_with_retries()
            except BaseException:
                # Failed or cancelled half-way (e.g. the pipeline was cancelled while joining):
                # leave whatever was set up, so nothing stays connected behind the caller.
                self._users -= 1
                await asyncio.shield(self._abandon())
                raise

    async def disconnect(self) -> None:
        """Release the connection; the last release leaves the call."""
        async with self._connect_lock:
            self._users = max(0, self._users - 1)
            if self._users > 0 or self._stack is None:
                return
            await self._leave()

    async def close(self) -> None:
        """Leave at once, whatever the reference count."""
        async with self._connect_lock:
            self._users = 0
            if self._stack is not None:
                await self._leave()

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
        protect_sdk_logs()
        stack = create_stack(self._config, self)
        self._stack = stack
        self._leaving = False
        self.has_ended = False
        self._events.start()
        await stack.join()
        self._seed_participants()
        logger.info(f"{self} joined the call ({stack.name} stack)")
        self._events.post("on_connected", ())

    async def _abandon(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            self._leaving = True
            await stack.leave()
        self._published = False
        self._clear_people()
        await self._events.stop()

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
        gone = self._clear_people()
        if self.has_ended:  # everyone left with the call: on_participant_left(id, "call_ended")
            self._events.post_all(gone)
        self._events.post("on_disconnected", ())
        await self._events.stop()
        logger.info(f"{self} left the call")

    def _seed_participants(self) -> None:
        """Register everyone the SDK reports in the call (at join or after a rejoin)."""
        if self._stack is not None:
            self._seed_people()
            for user_id, session_id in self._stack.participants():
                self.participant_joined(user_id, session_id)

    # ------------------------------------------------- StackListener (the stack calls)
    def participant_joined(self, user_id: str, session_id: str) -> None:
        """A remote participant session is in the call."""
        self._events.post_all(self._registry.joined(user_id, session_id))

    def track_subscribed(self, user_id: str, session_id: str, kind: TrackKind) -> None:
        """The bot receives a participant's track."""
        self._events.post_all(self._registry.track_subscribed(user_id, session_id, kind))

    def track_unsubscribed(self, user_id: str, kind: TrackKind) -> None:
        """The bot no longer receives a participant's track."""
        self._events.post_all(self._registry.track_unsubscribed(user_id, kind))

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
