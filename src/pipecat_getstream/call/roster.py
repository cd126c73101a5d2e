"""Who is in one call: the client's collaborator for participants and their events.

:class:`CallRoster` joins three pieces of :mod:`pipecat_getstream.people`: the participant
registry (presence and received tracks, the one source of truth), participant details and
the dominant speaker, and departures held back until their reason is known. It posts the
events each change causes to the call's
:class:`~pipecat_getstream.call.dispatch.EventDispatcher`.
"""

from __future__ import annotations

from typing import Any

from pipecat_getstream.call.dispatch import EventDispatcher
from pipecat_getstream.people.departures import CALL_ENDED, LEFT, DepartureReasons, reason_hint
from pipecat_getstream.people.participant_info import CallPeople, ParticipantInfo
from pipecat_getstream.people.registry import Event, ParticipantRegistry
from pipecat_getstream.stacks import CallStack, TrackKind


class CallRoster:
    """Who is in the call, what they publish, who speaks, and why people left.

    Args:
        user_id: The bot's user id (its own sessions are not participants).
        events: Where the events of each change are posted.

    """

    def __init__(self, user_id: str, events: EventDispatcher) -> None:
        self._registry = ParticipantRegistry(user_id)
        self._people = CallPeople(user_id)
        self._departures = DepartureReasons()
        self._events = events

    def participants(self) -> list[str]:
        """User ids of the remote participants in the call, in join order."""
        return self._registry.participants()

    def get(self, user_id: str) -> ParticipantInfo | None:
        """The latest details of a participant in the call, or ``None``."""
        if user_id not in self._registry.participants():
            return None
        return self._people.get(user_id)

    def seed(self, stack: CallStack) -> None:
        """Take in everyone the stack reports in the call (at join or after a rejoin)."""
        for info in stack.participant_details():
            self._people.seen(info, False, False)
        for user_id, session_id in stack.participants():
            self.joined(user_id, session_id)

    def clear(self, call_ended: bool) -> list[Event]:
        """Everyone is gone (the bot left or the call ended): their departure events."""
        self._departures.cancel()
        self._people.clear()
        return self._registry.clear(CALL_ENDED if call_ended else LEFT)

    def joined(self, user_id: str, session_id: str) -> None:
        """A remote participant session is in the call."""
        self._events.post_all(self._registry.joined(user_id, session_id))

    def left(self, user_id: str, session_id: str) -> None:
        """A remote participant session left: reported once its reason is known."""

        def deliver(reason: str) -> None:
            events = self._registry.left(user_id, session_id, reason)
            if user_id not in self._registry.participants():
                self._people.forget(user_id)
            self._events.post_all(events)

        self._departures.depart(user_id, session_id, deliver)

    def track_subscribed(self, user_id: str, session_id: str, kind: TrackKind) -> None:
        """The bot receives a participant's track."""
        self._events.post_all(self._registry.track_subscribed(user_id, session_id, kind))

    def track_unsubscribed(self, user_id: str, kind: TrackKind) -> None:
        """The bot no longer receives a participant's track."""
        self._events.post_all(self._registry.track_unsubscribed(user_id, kind))

    def updated(self, info: ParticipantInfo, changed: bool) -> None:
        """The SFU described a participant."""
        present = info.user_id in self._registry.participants()
        self._events.post_all(self._people.seen(info, changed, present))

    def speaker(self, user_id: str) -> None:
        """The SFU named a new dominant speaker."""
        self._events.post_all(self._people.speaker(user_id))

    def coordinator_event(self, event: dict[str, Any]) -> None:
        """A coordinator event: departure reasons are kept for the departures."""
        hint = reason_hint(event)
        if hint is not None:
            self._departures.hint(*hint)
