"""The SFU's ``JoinResponse``: the call's state and what the joiner may publish."""

from __future__ import annotations

from getstream.video.rtc.pb.stream.video.sfu.event import events_pb2
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2

from pipecat_getstream.testing.server.sfu.publish_options import publish_options_for
from pipecat_getstream.testing.server.state import CallRecord


def join_response(
    call: CallRecord, req: events_pb2.JoinRequest, reconnected: bool, deadline_s: int
) -> events_pb2.SfuEvent:
    """The event answering a participant's ``join_request``.

    Args:
        call: The call joined.
        req: The participant's join request (its publish options depend on it).
        reconnected: Whether this answers a fast reconnect into the same session.
        deadline_s: How long a session survives a dropped socket.

    Returns:
        An ``SfuEvent`` with the live participants, the call's start and the publish
        options (SDK 7.x and the web SDK publish only codecs listed; 3.x-6.x ignore them).

    """
    live = [s for s in call.sessions.values() if not s.gone]
    state = models_pb2.CallState(
        participants=[s.participant() for s in live],
        participant_count=models_pb2.ParticipantCount(total=len(live)),
    )
    state.started_at.FromSeconds(int(min((s.joined_at for s in live), default=0)))
    return events_pb2.SfuEvent(
        join_response=events_pb2.JoinResponse(
            call_state=state,
            reconnected=reconnected,
            fast_reconnect_deadline_seconds=deadline_s,
            publish_options=publish_options_for(req),
        )
    )
