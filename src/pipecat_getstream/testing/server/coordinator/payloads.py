"""JSON shapes of the coordinator's responses and WebSocket events.

Datetimes depend on who asks. The Python server SDKs (``X-Stream-Client:
stream-python-client-...``) decode REST datetimes with ``datetime_from_unix_ns``, which
calls ``int()`` on strings: they get integer unix nanoseconds. The web SDK's generated
models type every datetime as a ``string`` and hand it to ``new Date()``, where a
nanosecond integer is an invalid date: every other client gets RFC 3339 strings, the
OpenAPI ``date-time`` format. WebSocket events carry RFC 3339 strings for everyone (the
Python SDKs parse them too).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from pipecat_getstream.testing.server.coordinator.settings import call_settings, egress, ingress
from pipecat_getstream.testing.server.state import CallRecord, ServerState, UserRecord, now_ns


def rfc3339(ns: int) -> str:
    """Format unix nanoseconds as an RFC 3339 UTC string."""
    stamp = datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)
    return stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")


#: The ``X-Stream-Client`` prefix of the Python server SDKs (3.x to 7.x).
PYTHON_CLIENT_PREFIX = "stream-python-client"


def wants_ns(request: web.Request) -> bool:
    """Whether the request's client reads REST datetimes as integer unix nanoseconds."""
    client = request.headers.get("X-Stream-Client", "")
    return client.startswith(PYTHON_CLIENT_PREFIX)


def stamp(value: int | None, ns: bool) -> int | str | None:
    """A datetime field: unix nanoseconds as they are (``ns``), else RFC 3339."""
    if value is None or ns:
        return value
    return rfc3339(value)


def duration(started_ns: int) -> str:
    """Return the ``duration`` field of a response started at ``started_ns``."""
    return f"{(now_ns() - started_ns) / 1e6:.2f}ms"


def user_json(user: UserRecord, *, ws: bool = False, ns: bool = True) -> dict[str, Any]:
    """Return a ``UserResponse``; datetimes are nanoseconds when ``ns`` and not ``ws``."""

    def ts(value: int) -> int | str | None:
        return stamp(value, ns and not ws)

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


def full_user_json(user: UserRecord, *, ns: bool = True) -> dict[str, Any]:
    """Return a ``FullUserResponse`` (the users-upsert shape)."""
    body = user_json(user, ns=ns)
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


def call_json(state: ServerState, call: CallRecord, *, ns: bool = True) -> dict[str, Any]:
    """Return a ``CallResponse`` for a call (datetimes as nanoseconds when ``ns``)."""
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
            "started_at": stamp(min(int(s.joined_at * 1e9) for s in live), ns),
        }
    return {
        "type": call.call_type,
        "id": call.call_id,
        "cid": call.cid,
        "current_session_id": call.session_id if live else "",
        "created_by": user_json(creator, ns=ns),
        "custom": dict(call.custom),
        "created_at": stamp(call.created_at, ns),
        "updated_at": stamp(call.updated_at, ns),
        "ended_at": stamp(call.ended_at, ns),
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


def members_json(state: ServerState, call: CallRecord, *, ns: bool = True) -> list[dict[str, Any]]:
    """Return the call's ``MemberResponse`` list (datetimes as nanoseconds when ``ns``)."""
    members = []
    for user_id, role in call.members.items():
        user = state.ensure_user(user_id)
        members.append(
            {
                "user_id": user_id,
                "user": user_json(user, ns=ns),
                "role": role,
                "custom": {},
                "created_at": stamp(call.created_at, ns),
                "updated_at": stamp(call.updated_at, ns),
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
    body = call_json(state, call, ns=False)
    body["session"] = None
    del body["settings"]
    return {
        "type": event_type,
        "call_cid": call.cid,
        "call": body,
        "created_at": rfc3339(now_ns()),
    }
