"""Participant and track state, and the transport events derived from it.

One :class:`ParticipantRegistry` holds who is in the call and which of their tracks the bot
receives. Every participant/track event is computed from a state change, so events cannot
disagree with each other or with :meth:`ParticipantRegistry.participants`: leaving fires the
unsubscribes first, a rejoin is a new join, and ``on_first_participant_joined`` fires once per
empty-to-occupied transition.

:func:`sdk_event_inputs` is the only place that reads the SDK's event shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2

TrackKind = Literal["audio", "video"]

#: A transport event: its name and the arguments after the transport.
Event = tuple[str, tuple[Any, ...]]


@dataclass
class _Participant:
    sessions: set[str] = field(default_factory=set)
    tracks: set[TrackKind] = field(default_factory=set)


class ParticipantRegistry:
    """The single source of truth for remote participants and their received tracks.

    Methods return the transport events the change causes, in order; they never call out.

    Args:
        self_user_id: The bot's own user id; its sessions are not participants.

    """

    def __init__(self, self_user_id: str):
        self._self = self_user_id
        self._people: dict[str, _Participant] = {}

    def participants(self) -> list[str]:
        """User ids of the remote participants now in the call, in join order."""
        return list(self._people)

    def tracks(self, user_id: str) -> set[TrackKind]:
        """Kinds of track now received from ``user_id``."""
        person = self._people.get(user_id)
        return set(person.tracks) if person else set()

    def joined(self, user_id: str, session_id: str) -> list[Event]:
        """A participant session joined the call."""
        if not user_id or user_id == self._self:
            return []
        person = self._people.get(user_id)
        if person is not None:
            person.sessions.add(session_id)
            return []
        first = not self._people
        self._people[user_id] = _Participant(sessions={session_id})
        events: list[Event] = [
            ("on_participant_connected", (user_id,)),
            ("on_client_connected", (user_id,)),
        ]
        if first:
            events.append(("on_first_participant_joined", (user_id,)))
        return events

    def left(self, user_id: str, session_id: str | None = None) -> list[Event]:
        """A participant session left (``session_id=None``: every session of the user)."""
        person = self._people.get(user_id)
        if person is None:
            return []
        if session_id is None:
            person.sessions.clear()
        else:
            person.sessions.discard(session_id)
        if person.sessions:
            return []
        events = [_unsubscribed(user_id, kind) for kind in sorted(person.tracks)]
        del self._people[user_id]
        events += [
            ("on_participant_disconnected", (user_id,)),
            ("on_participant_left", (user_id,)),
            ("on_client_disconnected", (user_id,)),
        ]
        return events

    def track_subscribed(self, user_id: str, session_id: str, kind: TrackKind) -> list[Event]:
        """The bot started receiving a track (joins the owner first if it was unknown)."""
        if not user_id or user_id == self._self:
            return []
        events = self.joined(user_id, session_id)
        person = self._people[user_id]
        if kind not in person.tracks:
            person.tracks.add(kind)
            events.append((f"on_{kind}_track_subscribed", (user_id,)))
        return events

    def track_unsubscribed(self, user_id: str, kind: TrackKind) -> list[Event]:
        """The bot stopped receiving a track."""
        person = self._people.get(user_id)
        if person is None or kind not in person.tracks:
            return []
        person.tracks.discard(kind)
        return [_unsubscribed(user_id, kind)]

    def clear(self) -> list[Event]:
        """Everyone is gone (the bot left or the call ended)."""
        events: list[Event] = []
        for user_id in list(self._people):
            events += self.left(user_id)
        return events


def _unsubscribed(user_id: str, kind: TrackKind) -> Event:
    return (f"on_{kind}_track_unsubscribed", (user_id,))


_KIND_BY_TRACK_TYPE: dict[int, TrackKind] = {
    models_pb2.TRACK_TYPE_AUDIO: "audio",
    models_pb2.TRACK_TYPE_VIDEO: "video",
}


def track_kind(track_type: int) -> TrackKind | None:
    """Map the SDK's ``TrackType`` to ``"audio"``/``"video"`` (screen share: ``None``)."""
    return _KIND_BY_TRACK_TYPE.get(track_type)


def sdk_event_inputs(name: str, args: tuple[Any, ...]) -> tuple[str, str, str, str] | None:
    """Normalise one SDK ConnectionManager event for the registry.

    Args:
        name: The SDK event name.
        args: The event's arguments as the SDK emitted them.

    Returns:
        ``(change, user_id, session_id, kind)`` where change is ``joined``, ``left``,
        ``subscribed`` or ``unsubscribed`` (kind is ``""`` where it does not apply), or
        ``None`` for events the registry does not track.

    """
    if name in ("participant_joined", "participant_left") and args:
        participant = getattr(args[0], "participant", None)
        if participant is None:
            return None
        change = "joined" if name == "participant_joined" else "left"
        return change, participant.user_id, participant.session_id, ""
    if name == "track_added" and len(args) >= 3:
        _track_id, kind, user = args[0], args[1], args[2]
        if user is None or kind not in ("audio", "video"):
            return None
        return "subscribed", user.user_id, user.session_id, kind
    if name == "track_unpublished" and args:
        event = args[0]
        kind = track_kind(getattr(event, "type", 0))
        if kind is None:
            return None
        return "unsubscribed", event.user_id, event.session_id, kind
    return None
