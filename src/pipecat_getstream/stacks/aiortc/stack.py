"""The call on ``getstream[webrtc]`` 3.3.3-6.x: the SDK's ConnectionManager over aiortc."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import numpy as np
from getstream.video.rtc.connection_manager import ConnectionManager
from loguru import logger

from pipecat_getstream.errors import GetstreamNotConnectedError
from pipecat_getstream.people.participant_info import ParticipantInfo
from pipecat_getstream.stacks.aiortc.events import is_screen_share, sdk_event_inputs
from pipecat_getstream.stacks.aiortc.media import (
    AiortcAudioSink,
    AiortcVideoSource,
    ImageVideoTrack,
)
from pipecat_getstream.stacks.aiortc.people import attach_people, manager_people
from pipecat_getstream.stacks.aiortc.sdk import (
    RoutedConnectionManager,
    close_signaling_in_background,
    leave_without_blocking,
    subscribe_screen_shares,
    subscription_config,
)
from pipecat_getstream.stacks.aiortc.tracks import SharedReaderTrack
from pipecat_getstream.stacks.aiortc.watchdog import SignalingWatchdog, resubscribe
from pipecat_getstream.stacks.base import (
    CAMERA,
    SCREEN_VIDEO,
    AudioSink,
    AudioSpec,
    StackConfig,
    StackListener,
    VideoSink,
    VideoSpec,
)
from pipecat_getstream.stacks.rest import RestClient, coordinator_ws_uri, ensure_user_and_call


class AiortcStack:
    """One call through the aiortc-era SDK, with its guards against the SDK's bugs.

    The guards (each covered by an end-to-end test): a watchdog that rejoins when the SDK
    is stuck reconnecting, re-sent subscriptions after a rejoin, shared-reader tracks (the
    SDK adds a second reader of each published track on fast reconnect), and socket closes
    moved off the event loop (the SDK joins threads for ~2 s on it).

    Args:
        config: The call and credentials.
        listener: Receives what happens in the call.
        rest: The transport's REST client (the SDK's ``Call`` joins and sends through it).

    """

    name = "aiortc"

    def __init__(self, config: StackConfig, listener: StackListener, rest: RestClient):
        self._config = config
        self._listener = listener
        self._rest = rest
        self._call: Any = None
        self._manager: ConnectionManager | None = None
        self._watchdog: SignalingWatchdog | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._leaving = False
        self._reconnecting = False
        self._screen_share = config.subscribe_screen_share
        self._said_no_screen_out = False

    def __repr__(self) -> str:
        return f"AiortcStack({self._config.call_type}:{self._config.call_id})"

    @property
    def manager(self) -> ConnectionManager | None:
        """The SDK's ConnectionManager while joined (diagnostics and tests)."""
        return self._manager

    # ------------------------------------------------------------ lifecycle
    async def join(self) -> None:
        """Join through the SDK's ConnectionManager, coordinator routed to ``base_url``."""
        cfg = self._config
        stream = await self._rest.get()
        self._call = stream.video.call(cfg.call_type, cfg.call_id)
        manager = RoutedConnectionManager(
            call=self._call,
            user_id=cfg.user_id,
            create=True,
            subscription_config=subscription_config(
                cfg.subscribe_audio, cfg.subscribe_video, self._screen_share
            ),
            coordinator_uri=coordinator_ws_uri(cfg.base_url),
            user_token=cfg.token,
            user_name=cfg.user_name,
        )
        self._manager = manager
        self._attach(manager)
        if cfg.api_secret:  # bot user and call made server-side, alongside the connect
            ensure = asyncio.ensure_future(
                ensure_user_and_call(stream, cfg.call_type, cfg.call_id, cfg.user_id, cfg.user_name)
            )
            self._tasks.add(ensure)
            ensure.add_done_callback(self._tasks.discard)
        await manager.connect()
        # Tracks published before we joined are only subscribed once re-announced.
        await manager.republish_tracks()
        self._watchdog = SignalingWatchdog(manager)
        self._watchdog.start()

    async def leave(self) -> None:
        """Leave without blocking the loop (the socket close runs on a worker thread)."""
        self._leaving = True
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            await watchdog.stop()
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        manager, self._manager = self._manager, None
        if manager is not None:
            await leave_without_blocking(manager)
        self._call = None

    def participants(self) -> list[tuple[str, str]]:
        """Every other session in the SDK's participant state."""
        manager = self._manager
        if manager is None:
            return []
        own = manager.session_id
        return [
            (person.user_id, person.session_id)
            for person in manager.participants_state.get_participants()
            if person.session_id != own
        ]

    def participant_details(self) -> list[ParticipantInfo]:
        """What the SDK's participant state says of every other session."""
        return manager_people(self._manager)

    async def publish(
        self, audio: AudioSpec | None, video: VideoSpec | None
    ) -> tuple[AudioSink | None, VideoSink | None]:
        """Publish the bot's tracks in one negotiation, through shared-reader wrappers."""
        if self._manager is None:
            raise GetstreamNotConnectedError("cannot publish tracks: not joined")
        audio_sink = AiortcAudioSink(audio.sample_rate, audio.channels) if audio else None
        camera = ImageVideoTrack(video.width, video.height, video.framerate) if video else None
        await self._manager.add_tracks(
            audio=SharedReaderTrack(audio_sink.track) if audio_sink else None,
            video=SharedReaderTrack(camera) if camera else None,
        )
        return audio_sink, camera

    async def subscribe_screen_share(self) -> None:
        """Add screen share to the subscription and re-send it to the SFU (idempotent)."""
        if self._screen_share:
            return
        self._screen_share = True
        manager = self._manager
        if manager is None:
            return
        cfg = self._config
        config = subscription_config(cfg.subscribe_audio, cfg.subscribe_video, True)
        if not await subscribe_screen_shares(manager, config):
            logger.warning(f"{self} this SDK version cannot subscribe to screen shares mid-call")

    async def publish_screen_share(self, video: VideoSpec) -> VideoSink | None:
        """SDK 3.x-6.x cannot publish a screen share (``add_tracks`` takes audio and video)."""
        if not self._said_no_screen_out:
            self._said_no_screen_out = True
            logger.warning(
                f"{self} getstream 3.x-6.x cannot publish a screen share; "
                "screenVideo images are not sent (needs getstream 7)"
            )
        return None

    async def send_custom_event(self, custom: dict[str, Any]) -> None:
        """Send a custom event through the REST API."""
        if self._call is None:
            raise GetstreamNotConnectedError("cannot send a custom event: not joined")
        await self._call.send_call_event(user_id=self._config.user_id, custom=custom)

    # ------------------------------------------------------------ SDK events
    def _attach(self, manager: ConnectionManager) -> None:
        manager.on("audio", self._on_audio)
        manager.on("track_added", self._on_track_added)
        for name in ("participant_joined", "participant_left", "track_unpublished"):
            manager.on(name, functools.partial(self._on_participant_event, name))
        manager.on("custom", self._on_custom)
        attach_people(manager, self._listener)
        manager.on("call_ended", self._on_call_ended)
        manager.on("connection.state_changed", self._on_state_changed)
        manager.on("reconnection_failed", self._on_reconnection_failed)
        manager.on("reconnection_success", self._on_reconnection_success)
        manager.on("connection_lost", self._on_connection_lost)

    def _on_audio(self, pcm: Any) -> None:
        user_id = getattr(getattr(pcm, "participant", None), "user_id", None)
        if not user_id or self._leaving:
            return
        if pcm.format != "s16":
            pcm = pcm.to_int16()
        samples = np.asarray(pcm.samples, dtype=np.int16)
        if samples.ndim > 1:  # planar (channels, n) -> interleaved
            samples = np.ascontiguousarray(samples.T).reshape(-1)
        self._listener.audio_received(user_id, samples, pcm.sample_rate, pcm.channels)

    def _on_track_added(self, track_id: str, kind: str, user: Any) -> None:
        stream_id = self._stream_id(track_id)
        self._on_participant_event("track_added", track_id, kind, user, stream_id)
        if kind != "video" or user is None or self._manager is None:
            return
        subscriber = self._manager.subscriber_pc
        track = subscriber.add_track_subscriber(track_id) if subscriber else None
        if track is not None:
            name = SCREEN_VIDEO if is_screen_share(str(track_id), stream_id) else CAMERA
            self._listener.video_track(user.user_id, AiortcVideoSource(track), name)

    def _stream_id(self, track_id: str) -> str:
        """The msid stream id the SFU's offer gave ``track_id`` ("" when unknown)."""
        state = getattr(self._manager, "participants_state", None)
        lookup = getattr(state, "get_stream_id_from_track_id", None)
        return str(lookup(str(track_id)) or "") if lookup is not None else ""

    def _on_participant_event(self, name: str, *args: Any) -> None:
        change = sdk_event_inputs(name, args)
        if change is None:
            return
        kind, user_id, session_id, track = change
        listener = self._listener
        if kind == "joined":
            listener.participant_joined(user_id, session_id)
        elif kind == "left":
            listener.participant_left(user_id, session_id)
        elif kind == "subscribed":
            listener.track_subscribed(user_id, session_id, track)  # type: ignore[arg-type]
        else:
            listener.track_unsubscribed(user_id, track)  # type: ignore[arg-type]

    def _on_custom(self, event: Any) -> None:
        self._listener.custom_event(event)

    def _on_call_ended(self, *_: Any) -> None:
        self._reconnecting = False
        self._listener.call_ended()

    def _on_state_changed(self, change: Any) -> None:
        new = getattr(change.get("new"), "value", None) if isinstance(change, dict) else None
        if new in ("reconnecting", "migrating") and not self._reconnecting:
            self._reconnecting = True
            self._listener.reconnecting()

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
        manager = self._manager
        rejoined = "fast" not in strategy.lower()
        if manager is None or not rejoined:
            self._listener.reconnected(False)
            return
        # A rejoin starts a new SFU session: re-send subscriptions (SDK bug), then let the
        # listener pick up participants that joined while we were away.
        task = asyncio.get_running_loop().create_task(self._after_rejoin(manager))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _after_rejoin(self, manager: ConnectionManager) -> None:
        await resubscribe(manager)
        self._listener.reconnected(True)

    def _on_reconnection_failed(self, info: Any) -> None:
        self._reconnecting = False
        reason = info.get("reason") if isinstance(info, dict) else str(info)
        self._listener.reconnect_failed(str(reason))
