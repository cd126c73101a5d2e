"""Who is in the call on 3.x-6.x: participant details and speaker events of the SDK.

The SDK re-emits every SFU event on its ConnectionManager under the event's protobuf
name, each carrying the SFU's ``Participant`` where it has one. Its own participant
state ignores ``participant_updated``, so details are taken from the events themselves.
"""

from __future__ import annotations

import functools
from typing import Any

from getstream.video.rtc.connection_manager import ConnectionManager

from pipecat_getstream.people.participant_info import ParticipantInfo, participant_info
from pipecat_getstream.stacks.base import StackListener

#: SDK events that describe a participant, and whether they are a change.
_DESCRIBING = {
    "participant_joined": False,
    "participant_updated": True,
    "track_published": True,
    "track_unpublished": True,
}


def attach_people(manager: ConnectionManager, listener: StackListener) -> None:
    """Report participant details and dominant-speaker changes from ``manager``."""

    def describe(changed: bool, event: Any) -> None:
        participant = getattr(event, "participant", None)
        if participant is not None and str(getattr(participant, "user_id", "")):
            listener.participant_updated(participant_info(participant), changed)

    def speaker(event: Any) -> None:
        user_id = getattr(event, "user_id", "")
        if user_id:
            listener.dominant_speaker_changed(user_id)

    for name, changed in _DESCRIBING.items():
        manager.on(name, functools.partial(describe, changed))
    manager.on("dominant_speaker_changed", speaker)
    manager.on("coordinator_event", listener.coordinator_event)


def manager_people(manager: ConnectionManager | None) -> list[ParticipantInfo]:
    """Every other session in the SDK's participant state."""
    if manager is None:
        return []
    own = manager.session_id
    return [
        participant_info(person)
        for person in manager.participants_state.get_participants()
        if person.session_id != own
    ]
