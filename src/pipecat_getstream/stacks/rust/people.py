"""Who is in the call on 7.x: participant details and speaker events from ``getstream_rtc``."""

from __future__ import annotations

from typing import Any

import getstream_rtc as rtc

from pipecat_getstream.people.participant_info import ParticipantInfo, participant_info
from pipecat_getstream.stacks.base import StackListener


def report_people(event: Any, listener: StackListener) -> None:
    """Pass what an SFU event says about a participant to the listener.

    ``ParticipantJoined`` describes someone (no event of its own), ``ParticipantUpdated``
    and ``TrackPublished``/``TrackUnpublished`` change them, ``DominantSpeakerChanged``
    names the speaker. Other events are ignored.
    """
    if isinstance(event, rtc.ParticipantJoined):
        listener.participant_updated(participant_info(event.participant), False)
    elif isinstance(event, rtc.ParticipantUpdated):
        listener.participant_updated(participant_info(event.participant), True)
    elif isinstance(event, (rtc.TrackPublished, rtc.TrackUnpublished)):
        if event.participant is not None:
            listener.participant_updated(participant_info(event.participant), True)
    elif isinstance(event, rtc.DominantSpeakerChanged):
        listener.dominant_speaker_changed(event.user_id)


def call_people(call: rtc.Call | None, own_session: str | None) -> list[ParticipantInfo]:
    """Every other session of the call, as the SDK describes it now."""
    if call is None:
        return []
    return [
        participant_info(person)
        for person in call.participants()
        if person.session_id != own_session
    ]
