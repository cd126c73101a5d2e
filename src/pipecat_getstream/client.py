"""The SDK objects of one GetStream call and their lifecycle.

:class:`GetstreamClient` owns the REST client, the call, the SDK's ConnectionManager and the
published tracks. Input and output processors share one client: ``connect``/``disconnect``
are reference-counted, so the call is joined once and left when the last user releases it.
SDK callbacks are turned into ordered transport events on one bounded queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from typing import Any

from getstream.video.rtc.connection_manager import ConnectionManager
from getstream.video.rtc.track_util import PcmData
from loguru import logger

from pipecat_getstream.dispatch import EmitFn, EventDispatcher
from pipecat_getstream.errors import (
    GetstreamConnectionError,
    GetstreamNotConnectedError,
    describe_error,
)
from pipecat_getstream.events import ParticipantRegistry, sdk_event_inputs
from pipecat_getstream.messages import encode_custom_event, parse_incoming_event, sender_id
from pipecat_getstream.redaction import protect_sdk_logs
from pipecat_getstream.retry import with_backoff
from pipecat_getstream.sdk import (
    RoutedConnectionManager,
    close_signaling_in_background,
    coordinator_ws_uri,
    leave_without_blocking,
    make_stream_client,
    subscription_config,
)
from pipecat_getstream.validation import check_token_user
from pipecat_getstream.watchdog import SignalingWatchdog, resubscribe

AudioHandler = Callable[[PcmData], None]
VideoHandler = Callable[[str, Any], None]


class GetstreamClient:
    """Joins one call through the GetStream SDK and reports what happens in it.

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
        join_attempts: Attempts at joining before giving up (server errors only).

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
        join_attempts: int = 3,
    ):
        if token is not None:
            check_token_user(token, user_id)
        protect_sdk_logs(api_secret, token)
        self._api_key = api_key
        self._secret = api_secret
        self._token = token
        self.call_type = call_type
        self.call_id = call_id
        self.user_id = user_id
        self.base_url = base_url
        self._emit = emit
        self._subscribe = (subscribe_audio, subscribe_video)
        self._join_attempts = max(1, join_attempts)
        self._registry = ParticipantRegistry(user_id)
        self._users = 0
        self._connect_lock = asyncio.Lock()
        self._manager: ConnectionManager | None = None
        self._call: Any = None
        self._stream: Any = None
        self._events = EventDispatcher(emit, repr(self))
        self._audio_handler: AudioHandler | None = None
        self._video_handler: VideoHandler | None = None
        self._pending_video: list[tuple[str, Any]] = []
        self._published = False
        self._leaving = False
        self.call_ended = False
        self._ending: asyncio.Task[None] | None = None
        self._reconnecting = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watchdog: SignalingWatchdog | None = None

    def __repr__(self) -> str:
        return f"GetstreamClient(call={self.call_type}:{self.call_id}, user_id={self.user_id})"

    # ----------------------------------------------------------------- state
    @property
    def connected(self) -> bool:
        """Whether the bot is in the call."""
        return self._manager is not None and not self._leaving

    @property
    def manager(self) -> ConnectionManager | None:
        """The SDK's ConnectionManager while connected."""
        return self._manager

    def participants(self) -> list[str]:
        """User ids of the remote participants in the call."""
        return self._registry.participants()

    def set_audio_handler(self, handler: AudioHandler | None) -> None:
        """Receive every participant's audio (``PcmData`` with ``.participant``)."""
        self._audio_handler = handler

    def set_video_handler(self, handler: VideoHandler | None) -> None:
        """Receive ``(user_id, track)`` for every participant video track (also past ones)."""
        self._video_handler = handler
        if handler is not None:
            pending, self._pending_video = self._pending_video, []
            for user_id, track in pending:
                handler(user_id, track)

    # ------------------------------------------------------------ lifecycle
    async def connect(self) -> None:
        """Join the call (once; later callers share the connection).

        Raises:
            GetstreamConnectionError: If the call cannot be joined; the message says why.

        """
        async with self._connect_lock:
            self._users += 1
            if self._manager is not None:
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
            if self._users > 0 or self._manager is None:
                return
            await self._leave()

    async def close(self) -> None:
        """Leave at once, whatever the reference count."""
        async with self._connect_lock:
            self._users = 0
            if self._manager is not None:
                await self._leave()

    async def publish(self, audio: Any = None, video: Any = None) -> None:
        """Publish the bot's tracks (in one negotiation). Requires a connection."""
        if self._manager is None:
            raise GetstreamNotConnectedError("cannot publish tracks: not connected to the call")
        if self._published or (audio is None and video is None):
            return
        self._published = True
        await self._manager.add_tracks(audio=audio, video=video)

    async def send_custom_event(self, payload: dict[str, Any]) -> None:
        """Validate and send a custom event to everyone watching the call.

        Raises:
            ValueError: If the payload is not a JSON-serialisable dict of at most 5 KB
                (checked before any network call).
            GetstreamNotConnectedError: If the bot is not in the call.
            GetstreamConnectionError: If GetStream refuses or cannot be reached.

        """
        custom = encode_custom_event(payload)
        if self._call is None or not self.connected:
            raise GetstreamNotConnectedError(
                "cannot send a custom event: the transport is not connected to the call"
            )
        try:
            await self._call.send_call_event(user_id=self.user_id, custom=custom)
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
        stream = make_stream_client(self._api_key, self._secret, self._token, self.base_url)
        self._stream = stream
        self._call = stream.video.call(self.call_type, self.call_id)
        audio, video = self._subscribe
        manager = RoutedConnectionManager(
            call=self._call,
            user_id=self.user_id,
            create=True,
            subscription_config=subscription_config(audio, video),
            coordinator_uri=coordinator_ws_uri(self.base_url),
            user_token=self._token,
        )
        self._manager = manager
        self._leaving = False
        self._events.start()
        self._attach(manager)
        await manager.connect()
        self._seed_participants(manager)
        # Tracks published before we joined are only subscribed once re-announced.
        await manager.republish_tracks()
        self._watchdog = SignalingWatchdog(manager)
        self._watchdog.start()
        logger.info(f"{self} joined the call")
        self._events.post("on_connected", ())

    async def _stop_background(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            await watchdog.stop()
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    async def _close_rest_client(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                await stream.aclose()

    async def _abandon(self) -> None:
        await self._stop_background()
        manager, self._manager = self._manager, None
        if manager is not None:
            await leave_without_blocking(manager)
        await self._close_rest_client()
        await self._events.stop()

    async def _leave(self) -> None:
        manager = self._manager
        if manager is None:
            return
        await self._emit("on_before_disconnect")
        self._leaving = True
        await self._stop_background()
        await leave_without_blocking(manager)
        await self._close_rest_client()
        self._manager = None
        self._published = False
        self._registry.clear()
        self._events.post("on_disconnected", ())
        await self._events.stop()
        logger.info(f"{self} left the call")

    # ------------------------------------------------------------ SDK events
    def _attach(self, manager: ConnectionManager) -> None:
        manager.on("audio", self._on_audio)
        manager.on("track_added", self._on_track_added)
        for name in ("participant_joined", "participant_left", "track_unpublished"):
            manager.on(name, functools.partial(self._on_participant_event, name))
        manager.on("custom", self._on_custom)
        manager.on("call_ended", self._on_call_ended)
        manager.on("connection.state_changed", self._on_state_changed)
        manager.on("reconnection_failed", self._on_reconnection_failed)
        manager.on("reconnection_success", self._on_reconnection_success)
        manager.on("connection_lost", self._on_connection_lost)

    def _on_audio(self, pcm: PcmData) -> None:
        handler = self._audio_handler
        if handler is not None and not self._leaving:
            handler(pcm)

    def _on_track_added(self, track_id: str, kind: str, user: Any) -> None:
        self._on_participant_event("track_added", track_id, kind, user)
        if kind != "video" or user is None or self._manager is None:
            return
        subscriber = self._manager.subscriber_pc
        track = subscriber.add_track_subscriber(track_id) if subscriber else None
        if track is None:
            return
        if self._video_handler is not None:
            self._video_handler(user.user_id, track)
        else:
            self._pending_video.append((user.user_id, track))

    def _on_participant_event(self, name: str, *args: Any) -> None:
        change = sdk_event_inputs(name, args)
        if change is None:
            return
        kind, user_id, session_id, track = change
        if kind == "joined":
            self._events.post_all(self._registry.joined(user_id, session_id))
        elif kind == "left":
            self._events.post_all(self._registry.left(user_id, session_id))
        elif kind == "subscribed":
            self._events.post_all(self._registry.track_subscribed(user_id, session_id, track))  # type: ignore[arg-type]
        else:
            self._events.post_all(self._registry.track_unsubscribed(user_id, track))  # type: ignore[arg-type]

    def _on_custom(self, event: Any) -> None:
        parsed = parse_incoming_event(event)
        if parsed is None or sender_id(parsed) == self.user_id:
            return
        self._events.post("on_stream_custom_event", (parsed,))

    def _on_call_ended(self, *_: Any) -> None:
        if self.call_ended:
            return
        self.call_ended = True
        logger.info(f"{self} the call was ended by the server")
        self._events.post("on_call_ended", ())
        # Leave at once: a server close after call_ended can otherwise trigger a fast
        # reconnect into the ended call. Not awaited here (this is an SDK callback).
        self._ending = asyncio.get_running_loop().create_task(self.close())
        self._reconnecting = False

    def _on_state_changed(self, change: Any) -> None:
        new = getattr(change.get("new"), "value", None) if isinstance(change, dict) else None
        if new in ("reconnecting", "migrating") and not self._reconnecting:
            self._reconnecting = True
            self._events.post("on_reconnecting", ())

    def _on_connection_lost(self, *_: Any) -> None:
        # The SDK's reconnect closes the dead socket synchronously (up to ~2 s of thread
        # joins on the event loop, stalling every call in the process). Detach it now and
        # close it on a worker thread; the SDK then reconnects without touching it.
        manager = self._manager
        if manager is not None and not self._leaving:
            close_signaling_in_background(manager)

    def _on_reconnection_success(self, info: Any) -> None:
        strategy = str(info.get("strategy", "")) if isinstance(info, dict) else ""
        self._reconnecting = False
        logger.info(f"{self} reconnected ({strategy or 'unknown strategy'})")
        self._events.post("on_reconnected", ())
        manager = self._manager
        if manager is not None and "fast" not in strategy.lower():
            # A rejoin starts a new SFU session: re-send subscriptions (SDK bug) and pick up
            # participants that joined while we were away.
            self._background(self._after_rejoin(manager))

    async def _after_rejoin(self, manager: ConnectionManager) -> None:
        await resubscribe(manager)
        self._seed_participants(manager)

    def _seed_participants(self, manager: ConnectionManager) -> None:
        """Register everyone the SFU reported in the call (at join or after a rejoin)."""
        for person in manager.participants_state.get_participants():
            if person.session_id != manager.session_id:
                self._events.post_all(self._registry.joined(person.user_id, person.session_id))

    def _background(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_reconnection_failed(self, info: Any) -> None:
        self._reconnecting = False
        reason = info.get("reason") if isinstance(info, dict) else str(info)
        logger.error(f"{self} reconnection failed: {reason}")
        self._events.post("on_reconnect_failed", (str(reason),))
