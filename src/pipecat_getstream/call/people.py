"""The people side of :class:`~pipecat_getstream.call.client.GetstreamClient`.

Participant details, the dominant speaker, and departures held until their reason is known
(:mod:`pipecat_getstream.people.departures`). A mixin, so the client's lifecycle code stays
in one short module.
"""

from __future__ import annotations

from typing import Any

from pipecat_getstream.call.dispatch import EventDispatcher
from pipecat_getstream.people.departures import CALL_ENDED, LEFT, DepartureReasons, reason_hint
from pipecat_getstream.people.participant_info import CallPeople, ParticipantInfo
from pipecat_getstream.people.registry import ParticipantRegistry
from pipecat_getstream.stacks import CallStack


class ClientPeople:
    """Mixin: who is in the call, what they publish, who speaks, and why people left."""

    _registry: ParticipantRegistry
    _events: EventDispatcher
    _stack: CallStack | None
    has_ended: bool

    def _init_people(self, user_id: str) -> None:
        self._people = CallPeople(user_id)
        self._departures = DepartureReasons()

    def get_participant(self, user_id: str) -> ParticipantInfo | None:
        """The latest details of a participant in the call, or ``None``."""
        if user_id not in self._registry.participants():
            return None
        return self._people.get(user_id)

    def _seed_people(self) -> None:
        if self._stack is not None:
            for info in self._stack.participant_details():
                self._people.seen(info, False, False)

    def _clear_people(self) -> list[tuple[str, tuple[Any, ...]]]:
        """Everyone is gone because the bot left or the call ended: their events."""
        self._departures.cancel()
        self._people.clear()
        return self._registry.clear(CALL_ENDED if self.has_ended else LEFT)

    # ------------------------------------------------- StackListener (the stack calls)
    def participant_left(self, user_id: str, session_id: str) -> None:
        """A remote participant session left: reported once its reason is known."""

        def deliver(reason: str) -> None:
            events = self._registry.left(user_id, session_id, reason)
            if user_id not in self._registry.participants():
                self._people.forget(user_id)
            self._events.post_all(events)

        self._departures.depart(user_id, session_id, deliver)

    def participant_updated(self, info: ParticipantInfo, changed: bool) -> None:
        """The SFU described a participant."""
        present = info.user_id in self._registry.participants()
        self._events.post_all(self._people.seen(info, changed, present))

    def dominant_speaker_changed(self, user_id: str) -> None:
        """The SFU named a new dominant speaker."""
        self._events.post_all(self._people.speaker(user_id))

    def coordinator_event(self, event: dict[str, Any]) -> None:
        """A coordinator event: departure reasons are kept for the departures."""
        hint = reason_hint(event)
        if hint is not None:
            self._departures.hint(*hint)
