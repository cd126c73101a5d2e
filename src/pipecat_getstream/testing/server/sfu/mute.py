"""``UpdateMuteStates``: a participant stops or resumes sending a track without renegotiating.

GetStream's web SDK turns a camera, microphone or screen share off by stopping the track
and calling ``UpdateMuteStates`` (``Call.updateLocalStreamState`` →
``notifyTrackMuteState``); it waits for the SFU's ``TrackUnpublished`` (cause
``USER_MUTED``) about others to drop their streams, and ``TrackPublished`` to show them
again. The SFU says so to the other participants and updates the participant's published
track types, which every later ``Participant`` carries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from getstream.video.rtc.pb.stream.video.sfu.event import events_pb2
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from getstream.video.rtc.pb.stream.video.sfu.signal_rpc import signal_pb2
from loguru import logger

from pipecat_getstream.testing.server.state import SfuSession

if TYPE_CHECKING:
    from pipecat_getstream.testing.server.sfu.core import Sfu


async def update_mute_states(
    sfu: Sfu, session: SfuSession, req: signal_pb2.UpdateMuteStatesRequest
) -> None:
    """Apply each mute state: announce the track types that stopped or resumed."""
    announced = {int(info.track_type) for info in session.tracks.values()}
    for state in req.mute_states:
        track_type = int(state.track_type)
        if state.muted and track_type in session.published_types:
            session.published_types.remove(track_type)  # type: ignore[arg-type]
            unpublished = events_pb2.TrackUnpublished(
                user_id=session.user_id,
                session_id=session.session_id,
                type=track_type,  # type: ignore[arg-type]
                cause=models_pb2.TRACK_UNPUBLISH_REASON_USER_MUTED,
                participant=session.participant(),
            )
            event = events_pb2.SfuEvent(track_unpublished=unpublished)
        elif not state.muted and track_type in announced - set(session.published_types):
            session.published_types.append(track_type)  # type: ignore[arg-type]
            published = events_pb2.TrackPublished(
                user_id=session.user_id,
                session_id=session.session_id,
                type=track_type,  # type: ignore[arg-type]
                participant=session.participant(),
            )
            event = events_pb2.SfuEvent(track_published=published)
        else:
            continue
        logger.debug(
            "SFU: {} {} {}",
            session.user_id,
            "muted" if state.muted else "unmuted",
            models_pb2.TrackType.Name(track_type),  # type: ignore[arg-type]
        )
        await sfu.broadcast(session.call, event, session.session_id)
