"""In-memory state of the local server: users, calls, SFU sessions, sockets.

Everything here is touched only from the server's own event loop.
"""

from __future__ import annotations

import asyncio
import collections
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp

if TYPE_CHECKING:
    from pipecat_getstream.testing.server.rtp.forwarding import Forwarder
    from pipecat_getstream.testing.server.sfu.publisher_link import PublisherLink
    from pipecat_getstream.testing.server.sfu.subscriber_link import SubscriberLink

#: How many ``call_client_event`` telemetry events the server keeps (the latest).
CLIENT_EVENTS_KEPT = 1000

KNOWN_CALL_TYPES = frozenset({"default", "audio_room", "livestream", "development"})


_AUDIO_TYPES = (models_pb2.TRACK_TYPE_AUDIO, models_pb2.TRACK_TYPE_SCREEN_SHARE_AUDIO)


def _kind_of(track_type: int) -> str:
    return "audio" if track_type in _AUDIO_TYPES else "video"


def now_ns() -> int:
    """Return the current time in integer unix nanoseconds (the SDK's datetime format)."""
    return time.time_ns()


@dataclass
class UserRecord:
    """A user known to the coordinator."""

    id: str
    name: str | None = None
    role: str = "user"
    image: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    created_at: int = field(default_factory=now_ns)
    updated_at: int = field(default_factory=now_ns)


@dataclass
class CoordinatorConnection:
    """One authenticated coordinator WebSocket."""

    connection_id: str
    user_id: str
    ws: web.WebSocketResponse
    request: web.BaseRequest | None = None
    watching: set[str] = field(default_factory=set)


@dataclass
class CallRecord:
    """A call and its live SFU sessions.

    ``rest_joins`` counts successful join REST calls per user; ``left_sessions``
    maps sessions that left to their user's REST join count at that time (a
    fast reconnect into them is refused until the user joins again).
    """

    call_type: str
    call_id: str
    created_by: str
    custom: dict[str, Any] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)
    created_at: int = field(default_factory=now_ns)
    updated_at: int = field(default_factory=now_ns)
    ended_at: int | None = None
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    sessions: dict[str, SfuSession] = field(default_factory=dict)
    rest_joins: dict[str, int] = field(default_factory=dict)
    left_sessions: dict[str, int] = field(default_factory=dict)

    @property
    def cid(self) -> str:
        """The call's ``<type>:<id>`` identifier."""
        return f"{self.call_type}:{self.call_id}"


@dataclass
class SfuSession:
    """One participant session on the SFU (one ``ConnectionManager``).

    Attributes:
        call: The call the session belongs to.
        user_id: The participant's user id.
        session_id: The SDK's session id (kept across fast reconnects and rejoins).
        prefix: The track lookup prefix forwarded track ids start with.
        ws: The current signaling socket (``None`` while disconnected).
        request: The HTTP request of that socket (used to abort it).
        tracks: TrackInfo announced by SetPublisher, by track id.
        published: The current published track per track type.
        published_types: Track types announced, in order.
        subscriptions: Desired ``(publisher session id, track type)`` pairs.
        publisher: The server side of the participant's publisher connection.
        subscriber: The server side of the participant's subscriber connection.
        receive_codecs: Codec names the participant's SDK can receive (from the
            SDP it sent with its join); ``None`` when it sent none.
        deadline: Task that ends the session if it does not reconnect in time.
        rest_join_mark: The user's REST join count when the socket last joined
            (a REST join in between means the SDK rebuilt its connections).
        gone: Whether the session has left.
        name: The user's display name when the session joined or last updated.
        image: The user's image URL, likewise.
        custom: The user's custom data, likewise.

    """

    call: CallRecord
    user_id: str
    session_id: str
    prefix: str = field(default_factory=lambda: secrets.token_hex(6))
    joined_at: float = field(default_factory=time.time)
    ws: web.WebSocketResponse | None = None
    request: web.BaseRequest | None = None
    tracks: dict[str, models_pb2.TrackInfo] = field(default_factory=dict)
    published: dict[int, Forwarder] = field(default_factory=dict)
    published_types: list[int] = field(default_factory=list)
    subscriptions: set[tuple[str, int]] = field(default_factory=set)
    publisher: PublisherLink | None = None
    subscriber: SubscriberLink | None = None
    receive_codecs: set[str] | None = None
    deadline: asyncio.Task[None] | None = None
    rest_join_mark: int = 0
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    gone: bool = False
    name: str = ""
    image: str = ""
    custom: dict[str, Any] = field(default_factory=dict)

    def track_info(self, track_id: str | None, mid: str, kind: str) -> models_pb2.TrackInfo | None:
        """The announced track of a publisher section: by track id, else by kind or mid."""
        info = self.tracks.get(track_id or "")
        if info is not None:
            return info
        same_kind = [i for i in self.tracks.values() if _kind_of(int(i.track_type)) == kind]
        if len(same_kind) == 1:
            return same_kind[0]
        return next((i for i in same_kind if i.mid == mid), None)

    def participant(self) -> models_pb2.Participant:
        """Return this session as the SFU's ``Participant`` protobuf."""
        joined = Timestamp()
        joined.FromNanoseconds(int(self.joined_at * 1e9))
        custom = Struct()
        custom.update(self.custom)
        return models_pb2.Participant(
            user_id=self.user_id,
            session_id=self.session_id,
            published_tracks=list(self.published_types),  # type: ignore[arg-type]
            joined_at=joined,
            track_lookup_prefix=self.prefix,
            connection_quality=models_pb2.CONNECTION_QUALITY_EXCELLENT,
            name=self.name or self.user_id,
            image=self.image,
            custom=custom,
            roles=["user"],
        )


@dataclass
class ServerState:
    """All state of one local server.

    Attributes:
        users: Users by id.
        calls: Calls by cid.
        connections: Coordinator sockets by connection id.
        join_count: Successful join REST calls.
        sfu_join_count: SFU sessions created (fresh joins, not reconnects).
        reconnect_count: Fast reconnects resumed on the SFU.
        custom_events: Custom events accepted, in order (cid, payload).
        closed_captions: Closed captions accepted, in order (cid, acting user, caption).
        rest_log: User upserts and call get-or-creates, in order (what, details).
        client_events: The latest client telemetry events (``call_client_event``).

    """

    users: dict[str, UserRecord] = field(default_factory=dict)
    calls: dict[str, CallRecord] = field(default_factory=dict)
    connections: dict[str, CoordinatorConnection] = field(default_factory=dict)
    join_count: int = 0
    sfu_join_count: int = 0
    reconnect_count: int = 0
    custom_events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    closed_captions: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    rest_log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    client_events: collections.deque[dict[str, Any]] = field(
        default_factory=lambda: collections.deque(maxlen=CLIENT_EVENTS_KEPT)
    )

    def ensure_user(self, user_id: str, **fields: Any) -> UserRecord:
        """Return the user, creating it (or updating the given fields) as needed."""
        user = self.users.get(user_id)
        if user is None:
            user = UserRecord(id=user_id)
            self.users[user_id] = user
        for key, value in fields.items():
            if value is not None and hasattr(user, key):
                setattr(user, key, value)
        if fields:
            user.updated_at = now_ns()
        return user

    def find_call(self, call_type: str, call_id: str) -> CallRecord | None:
        """Return the call, or ``None`` if it does not exist."""
        return self.calls.get(f"{call_type}:{call_id}")

    def watchers(self, call: CallRecord) -> list[CoordinatorConnection]:
        """Return the coordinator sockets watching a call."""
        return [c for c in self.connections.values() if call.cid in c.watching]

    def sessions_of(self, user_id: str) -> list[SfuSession]:
        """Return the live SFU sessions of a user across all calls."""
        return [
            s
            for call in self.calls.values()
            for s in call.sessions.values()
            if s.user_id == user_id and not s.gone
        ]
