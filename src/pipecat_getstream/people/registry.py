"""Participant and track state, and the transport events derived from it.

One :class:`ParticipantRegistry` holds who is in the call and which of their tracks the bot
receives. Every participant/track event is computed from a state change, so events cannot
disagree with each other or with :meth:`ParticipantRegistry.participants`. A participant is
a user id: a second session of a user already present fires nothing, and the user leaves
when the last session goes. Leaving fires the unsubscribes first, then
``on_participant_disconnected``, ``on_participant_left`` (with the reason) and
``on_client_disconnected``; a rejoin is a new join; ``on_first_participant_joined`` fires
once per empty-to-occupied transition. The registry only computes events: the
:class:`~pipecat_getstream.call.dispatch.EventDispatcher` delivers them.

The SDK's event shapes are read by the stacks (:mod:`pipecat_getstream.stacks`), not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipecat_getstream.stacks.base import TrackKind

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

    def left(
        self, user_id: str, session_id: str | None = None, reason: str = "left"
    ) -> list[Event]:
        """A participant session left (``session_id=None``: every session of the user).

        ``reason`` (see :mod:`pipecat_getstream.people.departures`) is passed on with
        ``on_participant_left`` when the user's last session is gone.
        """
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
            ("on_participant_left", (user_id, reason)),
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

    def clear(self, reason: str = "left") -> list[Event]:
        """Everyone is gone (the bot left, ``reason="left"``, or the call ended)."""
        events: list[Event] = []
        for user_id in list(self._people):
            events += self.left(user_id, reason=reason)
        return events


def _unsubscribed(user_id: str, kind: TrackKind) -> Event:
    return (f"on_{kind}_track_unsubscribed", (user_id,))
