"""JSON shapes of the coordinator's responses and WebSocket events.

REST responses carry datetimes as integer unix nanoseconds (what the Python
SDK's decoders expect); WebSocket events carry RFC 3339 strings, like the cloud.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pipecat_getstream.testing.server.coordinator.settings import call_settings, egress, ingress
from pipecat_getstream.testing.server.state import CallRecord, ServerState, UserRecord, now_ns


def rfc3339(ns: int) -> str:
    """Format unix nanoseconds as an RFC 3339 UTC string."""
    stamp = datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)
    return stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")


def duration(started_ns: int) -> str:
    """Return the ``duration`` field of a response started at ``started_ns``."""
    return f"{(now_ns() - started_ns) / 1e6:.2f}ms"


def user_json(user: UserRecord, *, ws: bool = False) -> dict[str, Any]:
    """Return a ``UserResponse``; ``ws=True`` formats datetimes as strings."""

    def ts(value: int) -> int | str:
        return rfc3339(value) if ws else value

    body: dict[str, Any] = {
        "id": user.id,
        "role": user.role,
        "custom": dict(user.custom),
        "banned": False,
        "online": False,
        "invisible": False,
        "shadow_banned": False,
        "language": "",
        "teams": [],
        "blocked_user_ids": [],
        "created_at": ts(user.created_at),
        "updated_at": ts(user.updated_at),
    }
    if user.name is not None:
        body["name"] = user.name
    if user.image is not None:
        body["image"] = user.image
    return body


def full_user_json(user: UserRecord) -> dict[str, Any]:
    """Return a ``FullUserResponse`` (the users-upsert shape)."""
    body = user_json(user)
    body.update(
        {
            "total_unread_count": 0,
            "unread_channels": 0,
            "unread_count": 0,
            "unread_threads": 0,
            "channel_mutes": [],
            "devices": [],
            "mutes": [],
        }
    )
    return body


def call_json(state: ServerState, call: CallRecord) -> dict[str, Any]:
    """Return a ``CallResponse`` for a call."""
    creator = state.ensure_user(call.created_by)
    live = [s for s in call.sessions.values() if not s.gone]
    session: dict[str, Any] | None = None
    if live:
        session = {
            "id": call.session_id,
            "participants": [],
            "participants_count_by_role": {"user": len(live)},
            "accepted_by": {},
            "missed_by": {},
            "rejected_by": {},
            "anonymous_participant_count": 0,
            "started_at": min(int(s.joined_at * 1e9) for s in live),
        }
    return {
        "type": call.call_type,
        "id": call.call_id,
        "cid": call.cid,
        "current_session_id": call.session_id if live else "",
        "created_by": user_json(creator),
        "custom": dict(call.custom),
        "created_at": call.created_at,
        "updated_at": call.updated_at,
        "ended_at": call.ended_at,
        "backstage": False,
        "captioning": False,
        "recording": False,
        "transcribing": False,
        "translating": False,
        "blocked_user_ids": [],
        "session": session,
        "settings": call_settings(call.call_type),
        "egress": egress(),
        "ingress": ingress(),
    }


def members_json(state: ServerState, call: CallRecord) -> list[dict[str, Any]]:
    """Return the call's ``MemberResponse`` list."""
    members = []
    for user_id, role in call.members.items():
        user = state.ensure_user(user_id)
        members.append(
            {
                "user_id": user_id,
                "user": user_json(user),
                "role": role,
                "custom": {},
                "created_at": call.created_at,
                "updated_at": call.updated_at,
            }
        )
    return members


def custom_event_json(call: CallRecord, user: UserRecord, custom: dict[str, Any]) -> dict[str, Any]:
    """Return the coordinator WebSocket event for a custom call event."""
    return {
        "type": "custom",
        "call_cid": call.cid,
        "custom": custom,
        "user": user_json(user, ws=True),
        "created_at": rfc3339(now_ns()),
    }


def call_event_json(event_type: str, state: ServerState, call: CallRecord) -> dict[str, Any]:
    """Return a call-level coordinator event such as ``call.ended``."""
    body = call_json(state, call)
    for key in ("created_at", "updated_at", "ended_at"):
        if isinstance(body.get(key), int):
            body[key] = rfc3339(body[key])
    body["created_by"] = user_json(state.ensure_user(call.created_by), ws=True)
    body["session"] = None
    del body["settings"]
    return {
        "type": event_type,
        "call_cid": call.cid,
        "call": body,
        "created_at": rfc3339(now_ns()),
    }
