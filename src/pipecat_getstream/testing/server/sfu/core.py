"""The SFU core: participant sessions, their events and their media wiring."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiortc import RTCCertificate
from getstream.video.rtc.pb.stream.video.sfu.event import events_pb2
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from getstream.video.rtc.pb.stream.video.sfu.signal_rpc import signal_pb2
from loguru import logger

from pipecat_getstream.testing.server.auth import Authenticator
from pipecat_getstream.testing.server.coordinator.settings import call_settings
from pipecat_getstream.testing.server.faults import FaultState
from pipecat_getstream.testing.server.rtp.forwarding import Forwarder
from pipecat_getstream.testing.server.sfu.join_response import join_response
from pipecat_getstream.testing.server.sfu.publisher_link import PublisherLink
from pipecat_getstream.testing.server.sfu.sdp import receive_codecs
from pipecat_getstream.testing.server.sfu.speakers import CallSpeakers, dominant_speaker_event
from pipecat_getstream.testing.server.sfu.subscriber_link import SubscriberLink
from pipecat_getstream.testing.server.state import CallRecord, ServerState, SfuSession

NORMAL_CLOSE = 1000


class SfuError(Exception):
    """A signaling error answered with an SFU ``Error`` (``models_pb2.ErrorCode``)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Sfu:
    """Session lifecycle, events and media routing of the local SFU.

    Args:
        state: The server state.
        auth: Verifies SFU tokens.
        faults: Media faults for the forwarders.
        ice_host: The address of the server's ICE candidates.
        deadline_s: How long a session survives a dropped socket (fast-reconnect window).

    """

    def __init__(
        self,
        state: ServerState,
        auth: Authenticator,
        faults: FaultState,
        ice_host: str,
        deadline_s: int,
    ) -> None:
        self.state = state
        self.auth = auth
        self.faults = faults
        self.ice_host = ice_host
        self.deadline_s = deadline_s
        self.certificate = RTCCertificate.generateCertificate()
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Users whose new signaling sockets are refused (a device that lost its network).
        self.cut_off: set[str] = set()
        self.speakers = CallSpeakers(
            lambda s: self.spawn(self.broadcast(s.call, dominant_speaker_event(s)))
        )
        #: Awaited with each session that leaves and why (the coordinator's event).
        self.on_left: Callable[[SfuSession, str], Awaitable[None]] | None = None
        #: Awaited with each new session once it has joined (the webhooks' session events).
        self.on_joined: Callable[[SfuSession], Awaitable[None]] | None = None

    # ----------------------------------------------------------------- events
    async def send(self, session: SfuSession, event: events_pb2.SfuEvent) -> bool:
        """Send an event on the session's current socket; ``False`` if it is down."""
        ws = session.ws
        if ws is None or ws.closed:
            return False
        async with session.send_lock:
            try:
                await ws.send_bytes(event.SerializeToString())
                return True
            except (ConnectionError, RuntimeError) as exc:
                logger.debug("SFU send to {} failed: {}", session.user_id, exc)
                return False

    async def broadcast(
        self, call: CallRecord, event: events_pb2.SfuEvent, exclude: str | None = None
    ) -> None:
        """Send an event to every live session of a call except ``exclude``."""
        for session in list(call.sessions.values()):
            if session.session_id != exclude and not session.gone:
                await self.send(session, event)

    def spawn(self, coro: Any) -> None:
        """Run a coroutine in the background, keeping a reference to it."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------- join
    async def join(
        self, ws: web.WebSocketResponse, request: web.BaseRequest, req: events_pb2.JoinRequest
    ) -> SfuSession:
        """Handle a ``join_request``: new session, fast reconnect, or rejoin.

        Raises:
            SfuError: When the token is invalid or the call is unknown.

        """
        try:
            info = self.auth.verify_sfu(req.token)
        except Exception as exc:
            raise SfuError(models_pb2.ERROR_CODE_UNAUTHENTICATED, str(exc)) from exc
        call = self.state.calls.get(str(info.claims["call_cid"]))
        if call is None:
            raise SfuError(models_pb2.ERROR_CODE_CALL_NOT_FOUND, "call not found")
        user_id = str(info.user_id)
        if user_id in self.cut_off:
            raise SfuError(models_pb2.ERROR_CODE_PERMISSION_DENIED, "cut off by a test fault")
        session = call.sessions.get(req.session_id)
        if session is not None and session.user_id != user_id:
            raise SfuError(
                models_pb2.ERROR_CODE_PERMISSION_DENIED, "session belongs to another user"
            )
        if session is not None and not session.gone:
            if req.subscriber_sdp:
                session.receive_codecs = receive_codecs(req.subscriber_sdp)
            if session.deadline is not None:
                session.deadline.cancel()
                session.deadline = None
            old_ws = session.ws
            session.ws, session.request = ws, request
            if old_ws is not None and not old_ws.closed:
                self.spawn(old_ws.close())
            rest_join = call.rest_joins.get(user_id, 0) != session.rest_join_mark
            session.rest_join_mark = call.rest_joins.get(user_id, 0)
            if req.fast_reconnect and not rest_join:
                self.state.reconnect_count += 1
                logger.info("SFU: {} fast-reconnected to {}", user_id, call.cid)
                await self.send(session, join_response(call, req, True, self.deadline_s))
                if session.subscriber is not None:
                    await session.subscriber.resend_pending()
                return session
            logger.info(
                "SFU: {} rejoined {} with session {}", user_id, call.cid, session.session_id
            )
            await self._close_media(session)
            await self.send(session, join_response(call, req, False, self.deadline_s))
            await self.refresh(call)
            return session
        joins = call.rest_joins.get(user_id, 0)
        if req.fast_reconnect and call.left_sessions.get(req.session_id) == joins:
            raise SfuError(
                models_pb2.ERROR_CODE_PARTICIPANT_RECONNECT_FAILED,
                "the session has ended; join the call again",
            )
        previous = call.sessions.get(req.reconnect_details.previous_session_id)
        if previous is not None and previous.user_id == user_id and not previous.gone:
            # A rejoin (SDK 7.x after a lost socket) replaces the session it names.
            await self.leave(previous, "replaced by a rejoin")
        session = SfuSession(call=call, user_id=user_id, session_id=req.session_id)
        user = self.state.users.get(user_id)
        if user is not None:
            session.name, session.image = user.name or "", user.image or ""
            session.custom = dict(user.custom)
        session.receive_codecs = receive_codecs(req.subscriber_sdp)
        session.ws, session.request = ws, request
        session.rest_join_mark = call.rest_joins.get(user_id, 0)
        call.sessions[session.session_id] = session
        self.state.sfu_join_count += 1
        logger.info("SFU: {} joined {} (session {})", user_id, call.cid, session.session_id)
        await self.send(session, join_response(call, req, False, self.deadline_s))
        joined = events_pb2.ParticipantJoined(call_cid=call.cid, participant=session.participant())
        await self.broadcast(
            call, events_pb2.SfuEvent(participant_joined=joined), session.session_id
        )
        if self.on_joined is not None:
            await self.on_joined(session)
        return session

    async def socket_closed(
        self, session: SfuSession, ws: web.WebSocketResponse, code: int | None
    ) -> None:
        """React to a closed socket: leave on a normal close, else wait for a reconnect."""
        if session.ws is not ws:
            return
        session.ws = session.request = None
        if session.gone:
            return
        if code == NORMAL_CLOSE:
            await self.leave(session, "client closed the signaling socket")
            return
        logger.info(
            "SFU: {} lost its socket (code {}); waiting {}s", session.user_id, code, self.deadline_s
        )
        session.deadline = asyncio.ensure_future(self._deadline(session))

    async def _deadline(self, session: SfuSession) -> None:
        await asyncio.sleep(self.deadline_s)
        if session.ws is None and not session.gone:
            session.deadline = None
            await self.leave(session, "fast-reconnect deadline passed")

    # ------------------------------------------------------------------ leave
    async def leave(self, session: SfuSession, reason: str, notify: bool = True) -> None:
        """Remove a session: close its media and tell the others it left."""
        if session.gone:
            return
        session.gone = True
        logger.info("SFU: {} left {} ({})", session.user_id, session.call.cid, reason)
        if session.deadline is not None and session.deadline is not asyncio.current_task():
            session.deadline.cancel()
        session.deadline = None
        call = session.call
        if call.sessions.get(session.session_id) is session:
            del call.sessions[session.session_id]
        call.left_sessions[session.session_id] = call.rest_joins.get(session.user_id, 0)
        await self._close_media(session)
        if session.ws is not None and not session.ws.closed:
            self.spawn(session.ws.close(code=NORMAL_CLOSE))
        self.speakers.forget(session)
        if notify:
            if self.on_left is not None:
                await self.on_left(session, reason)
            left = events_pb2.ParticipantLeft(call_cid=call.cid, participant=session.participant())
            await self.broadcast(call, events_pb2.SfuEvent(participant_left=left))
            await self.refresh(call)

    async def _close_media(self, session: SfuSession) -> None:
        for forwarder in session.published.values():
            forwarder.stop()
        session.published.clear()
        links: list[PublisherLink | SubscriberLink | None] = [session.publisher, session.subscriber]
        session.publisher = session.subscriber = None
        for link in links:
            if link is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(link.close(), 5)

    async def end_call(self, call: CallRecord, reason: int) -> None:
        """Send ``call_ended`` to every session of a call and close them."""
        ended = events_pb2.SfuEvent(call_ended=events_pb2.CallEnded(reason=reason))  # type: ignore[arg-type]
        sessions = [s for s in call.sessions.values() if not s.gone]
        for session in sessions:
            await self.send(session, ended)
        for session in sessions:
            await self.leave(session, "call ended", notify=False)

    async def kick(self, session: SfuSession) -> None:
        """Remove one participant: ``call_ended`` (kicked) to it, ``participant_left`` to others."""
        kicked = events_pb2.CallEnded(reason=models_pb2.CALL_ENDED_REASON_KICKED)
        await self.send(session, events_pb2.SfuEvent(call_ended=kicked))
        await self.leave(session, "kicked")

    def drop_socket(self, session: SfuSession) -> bool:
        """Abort a session's socket without a close frame (a network drop)."""
        request, ws = session.request, session.ws
        if ws is None:
            return False
        transport = request.transport if request is not None else None
        if transport is not None:
            transport.abort()
        else:
            self.spawn(ws.close(code=4000))
        return True

    # ------------------------------------------------------------------ media
    async def set_publisher(
        self, session: SfuSession, req: signal_pb2.SetPublisherRequest
    ) -> signal_pb2.SetPublisherResponse:
        """Answer a publisher offer and announce newly published track types."""
        for info in req.tracks:
            session.tracks[info.track_id] = info
        if session.publisher is None:
            session.publisher = PublisherLink(
                self.ice_host,
                self.certificate,
                session.user_id,
                session.track_info,
                lambda forwarder: self._on_track(session, forwarder),
                dtx=bool(call_settings(session.call.call_type)["audio"]["opus_dtx_enabled"]),
                red=call_settings(session.call.call_type)["audio"]["redundant_coding_enabled"],
            )
        sdp = await session.publisher.answer(req.sdp)
        for info in req.tracks:
            if info.track_type in session.published_types:
                continue
            session.published_types.append(info.track_type)
            published = events_pb2.TrackPublished(
                user_id=session.user_id,
                session_id=session.session_id,
                type=info.track_type,
                participant=session.participant(),
            )
            await self.broadcast(
                session.call, events_pb2.SfuEvent(track_published=published), session.session_id
            )
        return signal_pb2.SetPublisherResponse(sdp=sdp, session_id=session.session_id)

    def _on_track(self, session: SfuSession, forwarder: Forwarder) -> None:
        old = session.published.get(forwarder.track_type)
        if old is not None and old is not forwarder:
            old.stop()
        session.published[forwarder.track_type] = forwarder
        self.speakers.watch(session, forwarder)
        logger.debug(
            "SFU: receiving {} ({}) from {}",
            models_pb2.TrackType.Name(forwarder.track_type),  # type: ignore[arg-type]
            forwarder.codec_name,
            session.user_id,
        )
        self.spawn(self.refresh(session.call))

    async def update_subscriptions(
        self, session: SfuSession, req: signal_pb2.UpdateSubscriptionsRequest
    ) -> None:
        """Replace the session's desired subscriptions and forward accordingly."""
        session.subscriptions = {(d.session_id, int(d.track_type)) for d in req.tracks}
        await self._sync(session)

    async def refresh(self, call: CallRecord) -> None:
        """Re-sync what every session of a call receives."""
        for session in list(call.sessions.values()):
            await self._sync(session)

    async def _sync(self, session: SfuSession) -> None:
        if session.gone:
            return
        if session.subscriber is None:
            if not self._wanted(session):
                return

            async def send_offer(sdp: str, s: SfuSession = session) -> bool:
                offer = events_pb2.SubscriberOffer(sdp=sdp)
                return await self.send(s, events_pb2.SfuEvent(subscriber_offer=offer))

            session.subscriber = SubscriberLink(
                self.ice_host,
                self.certificate,
                session.user_id,
                send_offer,
                self.faults,
                session.receive_codecs,
            )
        try:
            await session.subscriber.sync(lambda: self._wanted(session))
        except Exception:
            if not session.gone:
                logger.exception("SFU: forwarding to {} failed", session.user_id)

    @staticmethod
    def _wanted(session: SfuSession) -> dict[tuple[str, int], tuple[Forwarder, str]]:
        """What a session receives: everyone's microphone, and what it subscribed to.

        Microphone audio goes to every participant unasked, as on GetStream's cloud: the web
        SDK never asks for it ("audio tracks don't have to be requested explicitly", its
        ``TrackSubscriptionManager``) and SDK 7.x asks only when given a subscription config.
        Video, screen share and screen-share audio are forwarded on request only.
        """
        keys = {
            (other.session_id, models_pb2.TRACK_TYPE_AUDIO)
            for other in session.call.sessions.values()
            if models_pb2.TRACK_TYPE_AUDIO in other.published
        }
        wanted = {}
        for key in [*sorted(keys), *sorted(session.subscriptions - keys)]:
            publisher = session.call.sessions.get(key[0])
            if publisher is None or publisher.gone or publisher is session:
                continue
            forwarder = publisher.published.get(key[1])
            if forwarder is not None and not forwarder.ended:
                wanted[key] = (forwarder, publisher.prefix)
        return wanted

    async def close(self) -> None:
        """Close every session (server shutdown)."""
        for call in list(self.state.calls.values()):
            for session in list(call.sessions.values()):
                await self.leave(session, "server shutdown", notify=False)
        for task in list(self._tasks):
            task.cancel()
