"""Coordinator events about people in a call: departures, kicks, profile updates, captions.

What GetStream sends watchers of a call beside the SFU's own events, in the shapes of the
SDK's models (``CallSessionParticipantLeftEvent``, ``KickedUserEvent``,
``ClosedCaptionEvent``), plus the closed-caption REST endpoint
(``POST /api/v2/video/call/{type}/{id}/closed_captions``).
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web
from getstream.video.rtc.pb.stream.video.sfu.event import events_pb2

from pipecat_getstream.testing.server.auth import CODE_INPUT, ApiError, TokenInfo
from pipecat_getstream.testing.server.coordinator import payloads
from pipecat_getstream.testing.server.state import CallRecord, SfuSession, UserRecord, now_ns

if TYPE_CHECKING:
    from pipecat_getstream.testing.server.coordinator.routes import Coordinator

#: How the server words why a session ended, in ``call.session_participant_left``.
LEFT_REASON = "user left"
TIMEOUT_REASON = "timeout: the participant did not reconnect in time"
KICKED_REASON = "kicked: removed by a moderator"


def _participant_json(state: Any, session: SfuSession) -> dict[str, Any]:
    user = state.ensure_user(session.user_id)
    return {
        "user": payloads.user_json(user, ws=True),
        "user_session_id": session.session_id,
        "role": "user",
        "joined_at": payloads.rfc3339(int(session.joined_at * 1e9)),
    }


class CallEvents:
    """Publishes people-related coordinator events and serves closed captions.

    Args:
        coordinator: The coordinator whose watchers receive the events.

    """

    def __init__(self, coordinator: Coordinator) -> None:
        self.coordinator = coordinator

    def routes(self) -> list[web.RouteDef]:
        """The closed-caption route."""
        call = "/api/v2/video/call/{type}/{id}"
        return [web.post(call + "/closed_captions", self.coordinator.rest(self.closed_caption))]

    async def session_left(self, session: SfuSession, why: str) -> None:
        """``call.session_participant_left``, its reason worded from the SFU's ``why``."""
        reason = LEFT_REASON
        if "deadline" in why:
            reason = TIMEOUT_REASON
        elif "kick" in why:
            reason = KICKED_REASON
        call = session.call
        event = {
            "type": "call.session_participant_left",
            "call_cid": call.cid,
            "session_id": call.session_id,
            "participant": _participant_json(self.coordinator.state, session),
            "duration_seconds": max(0, int(time.time() - session.joined_at)),
            "reason": reason,
            "created_at": payloads.rfc3339(now_ns()),
        }
        await self.coordinator.publish(call, event)

    async def kick(self, call: CallRecord, user_id: str, by: str | None = None) -> int:
        """Remove a user: ``call.kicked_user`` to watchers, then the SFU kick."""
        state = self.coordinator.state
        sessions = [s for s in call.sessions.values() if s.user_id == user_id and not s.gone]
        event: dict[str, Any] = {
            "type": "call.kicked_user",
            "call_cid": call.cid,
            "user": payloads.user_json(state.ensure_user(user_id), ws=True),
            "created_at": payloads.rfc3339(now_ns()),
        }
        if by:
            event["kicked_by_user"] = payloads.user_json(state.ensure_user(by), ws=True)
        await self.coordinator.publish(call, event)
        for session in sessions:
            await self.coordinator.sfu.kick(session)
        return len(sessions)

    async def user_updated(self, user: UserRecord) -> None:
        """A user's profile changed: live sessions take it, and the SFU says so."""
        sfu = self.coordinator.sfu
        for session in self.coordinator.state.sessions_of(user.id):
            session.name, session.image = user.name or "", user.image or ""
            session.custom = dict(user.custom)
            updated = events_pb2.ParticipantUpdated(
                call_cid=session.call.cid, participant=session.participant()
            )
            await sfu.broadcast(session.call, events_pb2.SfuEvent(participant_updated=updated))

    async def closed_caption(
        self, request: web.Request, token: TokenInfo, body: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST .../closed_captions``: deliver ``call.closed_caption`` to watchers."""
        coordinator = self.coordinator
        call = coordinator.call_or_404(request, "SendClosedCaption")
        speaker_id, text = body.get("speaker_id"), body.get("text")
        if not isinstance(speaker_id, str) or not speaker_id:
            raise ApiError(400, CODE_INPUT, 'SendClosedCaption failed: "speaker_id" is required')
        if not isinstance(text, str) or not text:
            raise ApiError(400, CODE_INPUT, 'SendClosedCaption failed: "text" is required')
        user = body.get("user") if isinstance(body.get("user"), dict) else {}
        acting = coordinator.auth.acting_user(token, body.get("user_id") or (user or {}).get("id"))
        now = payloads.rfc3339(now_ns())
        caption = {
            "id": str(uuid.uuid4()),
            "speaker_id": speaker_id,
            "text": text,
            "start_time": body.get("start_time") or now,
            "end_time": body.get("end_time") or now,
            "language": body.get("language") or "en",
            "translated": bool(body.get("translated", False)),
            "service": body.get("service"),
            "user": payloads.user_json(coordinator.state.ensure_user(speaker_id), ws=True),
        }
        coordinator.state.closed_captions.append((call.cid, acting or "", caption))
        event = {
            "type": "call.closed_caption",
            "call_cid": call.cid,
            "closed_caption": caption,
            "created_at": now,
        }
        await coordinator.publish(call, event)
        return {}
