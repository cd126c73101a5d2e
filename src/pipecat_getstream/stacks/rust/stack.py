"""The call on ``getstream[webrtc]`` 7.x: the public ``getstream_rtc`` bindings (Rust core).

No private SDK names and nothing process-wide: the transport builds its own
``getstream_rtc.Client`` with every URL derived from ``base_url`` (REST from it, the
coordinator WebSocket through ``ws_url``, the SFU from the join response), reads the
call's event and track streams in one task each, and writes the bot's media straight into
the Rust tracks. The SDK reconnects by itself; the stack only reports it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import getstream_rtc as rtc
from loguru import logger

from pipecat_getstream.errors import GetstreamConnectionError, GetstreamNotConnectedError
from pipecat_getstream.people.participant_info import ParticipantInfo
from pipecat_getstream.stacks.base import (
    CAMERA,
    SCREEN_VIDEO,
    AudioSink,
    AudioSpec,
    StackConfig,
    StackListener,
    TrackKind,
    VideoSink,
    VideoSpec,
)
from pipecat_getstream.stacks.rest import RestClient, coordinator_ws_uri, ensure_user_and_call
from pipecat_getstream.stacks.rust.kinds import VIDEO_KINDS, VideoKinds
from pipecat_getstream.stacks.rust.media import (
    RustAudioSink,
    RustVideoSink,
    RustVideoSource,
    publish_camera,
)
from pipecat_getstream.stacks.rust.people import call_people, report_people
from pipecat_getstream.stacks.rust.subscriptions import Subscriptions

#: Events each of the call's streams buffers while the loop is busy (SDK default 256).
EVENT_CAPACITY = 1024

#: Seconds of bot audio the Rust track may queue; the writer keeps far less queued.
AUDIO_QUEUE_SECS = 5.0

_KINDS: dict[Any, TrackKind] = {
    rtc.TrackType.AUDIO: "audio",
    rtc.TrackType.VIDEO: "video",
    rtc.TrackType.SCREEN_SHARE: "screen_share",
}
_RECONNECTING = (rtc.CallingState.RECONNECTING, rtc.CallingState.MIGRATING)

#: Seconds a participant's departure is held back: a 7.x participant whose connection
#: drops may rejoin with a new session, and that is a reconnect, not a leave.
REJOIN_GRACE_SECS = 1.0

#: How the coordinator words a refused credential (the SDK reports no HTTP status for it).
_AUTH_REFUSED = re.compile(r"JWTAuth|token|signature|expired|unauthori[sz]ed|api key", re.I)


class CoordinatorAuthError(GetstreamConnectionError):
    """The coordinator WebSocket refused the credentials: GetStream's HTTP 401."""

    status_code = 401


class RustStack:
    """One call through the 7.x SDK's Rust core.

    Args:
        config: The call and credentials.
        listener: Receives what happens in the call.
        rest: The transport's REST client (bot user and call set-up, custom events).

    """

    name = "rust"

    def __init__(self, config: StackConfig, listener: StackListener, rest: RestClient):
        self._config = config
        self._listener = listener
        self._client: rtc.Client | None = None
        self._call: rtc.Call | None = None
        self._rest = rest
        self._session_id: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._live: dict[tuple[str, TrackKind], str] = {}  # (session, kind) -> user id
        # (session, kind) -> source; holding it keeps the track subscribed.
        self._videos: dict[tuple[str, TrackKind], RustVideoSource] = {}
        self._subscriptions = Subscriptions(config, self._cameras_held, self._spawn)
        self._kinds = VideoKinds()  # camera or screen share, under the cloud's stream names
        self._screen_sink: RustVideoSink | None = None
        self._departing: dict[str, tuple[str, asyncio.TimerHandle]] = {}  # session -> user
        self._audio_track: rtc.LocalAudioTrack | None = None
        self._video_sink: RustVideoSink | None = None
        self._leaving = False
        self._reconnecting = False
        self._ended = False

    def __repr__(self) -> str:
        return f"RustStack({self._config.call_type}:{self._config.call_id})"

    # ------------------------------------------------------------ lifecycle
    async def join(self) -> None:
        """Join through ``getstream_rtc``.

        The event and track streams exist before the join, so none of the join's events or
        tracks are missed.
        """
        cfg = self._config
        credentials: dict[str, Any] = (
            {"api_secret": cfg.api_secret} if cfg.api_secret else {"token": cfg.token}
        )
        self._client = rtc.Client(
            cfg.api_key,
            base_url=cfg.base_url,
            ws_url=coordinator_ws_uri(cfg.base_url),
            call_event_capacity=EVENT_CAPACITY,
            **credentials,
        )
        call = self._call = self._client.call(cfg.call_type, cfg.call_id)
        self._spawn(self._read(call.sfu_events(), self._on_sfu_event, self._sfu_ended))
        self._spawn(self._read(call.coordinator_events(), self._on_coordinator_event))
        self._spawn(self._read(call.client_events(), self._on_client_event))
        self._spawn(self._read_tracks(call))
        if cfg.api_secret:  # bot user and call made server-side, alongside the join
            self._spawn(self._ensure_user_and_call())
        try:
            await call.join(cfg.user_id, True)
        except rtc.CoordinatorError as exc:
            # 7.x authenticates on the coordinator socket before any REST call, so a wrong
            # secret or a bad token surfaces here, as text; report it as what it is.
            if _AUTH_REFUSED.search(str(exc)):
                raise CoordinatorAuthError(f"the credentials were refused: {exc}") from exc
            raise
        self._session_id = await call.session_id()
        await self._subscriptions.apply(call, self._session_id)

    async def subscribe_screen_share(self) -> None:
        """Add screen share to the subscribed track types (idempotent)."""
        await self._subscriptions.add_screen_share(self._call, self._session_id)

    def _cameras_held(self) -> set[str]:
        return {session for session, kind in self._videos if kind == "video"}

    async def _ensure_user_and_call(self) -> None:
        cfg = self._config
        stream = await self._rest.get()
        await ensure_user_and_call(stream, cfg.call_type, cfg.call_id, cfg.user_id, cfg.user_name)

    async def leave(self) -> None:
        """Leave the call (asynchronous in the SDK: nothing blocks the loop)."""
        self._leaving = True
        for _user, timer in self._departing.values():
            timer.cancel()
        self._departing.clear()
        for sink in (self._video_sink, self._screen_sink):
            if sink is not None:
                sink.stop()
        call, self._call = self._call, None
        if call is not None:
            try:
                await call.leave()
            except Exception as exc:  # leaving: log, never raise from teardown
                logger.warning(f"{self} error while leaving the call: {exc!r}")
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        self._videos.clear()
        self._live.clear()
        self._audio_track = None
        self._client = None

    def participants(self) -> list[tuple[str, str]]:
        """Every other session the SDK reports in the call."""
        call = self._call
        if call is None:
            return []
        return [
            (person.user_id, person.session_id)
            for person in call.participants()
            if person.session_id != self._session_id
        ]

    def participant_details(self) -> list[ParticipantInfo]:
        """What the SDK says of every other session now."""
        return call_people(self._call, self._session_id)

    async def publish(
        self, audio: AudioSpec | None, video: VideoSpec | None
    ) -> tuple[AudioSink | None, VideoSink | None]:
        """Publish a Rust audio track and a VP9 (else VP8) camera, whichever the SFU takes."""
        call = self._call
        if call is None:
            raise GetstreamNotConnectedError("cannot publish tracks: not joined")
        audio_sink = None
        if audio is not None:
            track = rtc.LocalAudioTrack(pcm_queue_capacity=AUDIO_QUEUE_SECS)
            await call.publish_audio(track)
            self._audio_track = track
            audio_sink = RustAudioSink(track, audio.sample_rate, audio.channels)
        if video is not None:
            camera = await publish_camera(call, vp8_only=self._config.publish_screen_share)
            self._video_sink = RustVideoSink(camera, video)
        return audio_sink, self._video_sink

    async def publish_screen_share(self, video: VideoSpec) -> VideoSink | None:
        """Publish a VP8 screen-share track (what the SFU takes for screen share)."""
        call = self._call
        if call is None:
            raise GetstreamNotConnectedError("cannot publish a screen share: not joined")
        if self._screen_sink is None:
            track = rtc.LocalVideoTrack.vp8()
            await call.publish_screen_share(track)
            self._screen_sink = RustVideoSink(track, video)
        return self._screen_sink

    async def send_custom_event(self, custom: dict[str, Any]) -> None:
        """Send a custom event through the transport's REST client."""
        if self._call is None:
            raise GetstreamNotConnectedError("cannot send a custom event: not joined")
        stream = await self._rest.get()
        rest_call = stream.video.call(self._config.call_type, self._config.call_id)
        await rest_call.send_call_event(user_id=self._config.user_id, custom=custom)

    # ------------------------------------------------------------- streams
    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(
        self,
        stream: AsyncIterator[Any],
        handle: Callable[[Any], None],
        ended: Callable[[], None] | None = None,
    ) -> None:
        # One task per stream, cancelled only when leaving (a cancel can lose an event).
        async for event in stream:
            try:
                handle(event)
            except Exception:
                logger.exception(f"{self} failed to handle {type(event).__name__}")
        if ended is not None:
            ended()

    async def _read_tracks(self, call: rtc.Call) -> None:
        tracks = call.tracks()
        while True:
            try:
                track = await tracks.__anext__()
            except StopAsyncIteration:
                return
            except rtc.RtcError as exc:  # the SDK dropped tracks a busy loop did not read
                logger.warning(f"{self} {exc}")
                continue
            self._on_track(track)

    def _on_track(self, track: rtc.RemoteTrack) -> None:
        kind = _KINDS.get(track.track_type)
        wanted = {
            "audio": self._config.subscribe_audio,
            "video": self._config.subscribe_video,
            "screen_share": self._subscriptions.screen_share_on,
        }
        person = track.participant
        user_id, session_id = person.user_id, person.session_id
        if kind in VIDEO_KINDS:  # the cloud's names reach 7.x as VIDEO
            video_wanted = {k for k in VIDEO_KINDS if wanted[k]}
            held = {k for s, k in self._videos if s == session_id}
            published = list(person.published_tracks)
            kind = self._kinds.resolve(track.track_type, session_id, published, video_wanted, held)
        if kind is None or not wanted[kind]:
            return  # dropping the last reference unsubscribes
        self._live[(session_id, kind)] = user_id
        self._listener.track_subscribed(user_id, session_id, kind)
        if kind == "audio":
            self._spawn(self._read_audio(track, user_id, session_id))
        else:
            source = self._videos[(session_id, kind)] = RustVideoSource(track)
            name = SCREEN_VIDEO if kind == "screen_share" else CAMERA
            self._listener.video_track(user_id, source, name)

    async def _read_audio(self, track: rtc.RemoteTrack, user_id: str, session_id: str) -> None:
        listener = self._listener
        while (frame := await track.next_pcm()) is not None:
            listener.audio_received(user_id, frame.samples, frame.sample_rate, frame.channels)
        self._live.pop((session_id, "audio"), None)

    # -------------------------------------------------------------- events
    def _on_sfu_event(self, event: Any) -> None:
        listener = self._listener
        report_people(event, listener)
        if isinstance(event, rtc.ParticipantJoined):
            user_id = event.participant.user_id
            listener.participant_joined(user_id, event.participant.session_id)
            # A rejoin: the old session's departure is no longer a leave.
            for session_id, (departed, _timer) in list(self._departing.items()):
                if departed == user_id:
                    self._depart(session_id)
        elif isinstance(event, rtc.ParticipantLeft):
            session_id = event.participant.session_id
            self._kinds.forget(session_id)
            for gone in _KINDS.values():
                self._videos.pop((session_id, gone), None)
                self._live.pop((session_id, gone), None)
            timer = asyncio.get_running_loop().call_later(
                REJOIN_GRACE_SECS, self._depart, session_id
            )
            self._departing[session_id] = (event.participant.user_id, timer)
        elif isinstance(event, rtc.TrackUnpublished):
            kind = _KINDS.get(event.track_type)
            if kind is not None and (event.session_id, kind) in self._live:
                listener.track_unsubscribed(event.user_id, kind)
        elif isinstance(event, rtc.TrackPublished):
            # After a mute and unmute the SDK's existing track delivers again.
            kind = _KINDS.get(event.track_type)
            if kind is not None:
                self._kinds.published(event.session_id, kind)
            if kind is not None and (event.session_id, kind) in self._live:
                listener.track_subscribed(event.user_id, event.session_id, kind)
        elif isinstance(event, rtc.CallEnded):
            self._end()
        elif isinstance(event, rtc.EventsLagged):
            logger.warning(f"{self} the loop fell behind: {event.skipped} SFU events lost")
            for user_id, session_id in self.participants():
                listener.participant_joined(user_id, session_id)

    def _depart(self, session_id: str) -> None:
        entry = self._departing.pop(session_id, None)
        if entry is not None and not self._leaving:
            entry[1].cancel()
            self._listener.participant_left(entry[0], session_id)

    def _sfu_ended(self) -> None:
        # The stream ends when the call does: the SFU or the coordinator ended it, or the
        # SDK left for good after a failure.
        self._end()

    def _end(self) -> None:
        if not self._ended and not self._leaving:
            self._ended = True
            self._listener.call_ended()

    def _on_coordinator_event(self, event: Any) -> None:
        if isinstance(event, rtc.CoordinatorEvent) and event.name == "custom":
            self._listener.custom_event(event.data)
        elif isinstance(event, rtc.CoordinatorEvent) and isinstance(event.data, dict):
            self._listener.coordinator_event(event.data)

    def _on_client_event(self, event: Any) -> None:
        if not isinstance(event, rtc.CallingStateChanged) or self._leaving:
            return
        state = event.state
        if state in _RECONNECTING:
            if not self._reconnecting:
                self._reconnecting = True
                self._listener.reconnecting()
        elif state == rtc.CallingState.JOINED and self._reconnecting:
            self._reconnecting = False
            self._spawn(self._after_reconnect())
        elif state == rtc.CallingState.RECONNECTING_FAILED:
            self._reconnecting = False
            self._listener.reconnect_failed("the SDK gave up reconnecting")

    async def _after_reconnect(self) -> None:
        call = self._call
        session_id = await call.session_id() if call is not None else None
        rejoined = session_id != self._session_id
        self._session_id = session_id
        self._listener.reconnected(rejoined)
