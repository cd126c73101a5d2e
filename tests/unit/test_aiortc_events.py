"""The aiortc stack's reading of the SDK's protobuf event shapes (3.3.3-6.x only)."""

from types import SimpleNamespace

import pytest

from pipecat_getstream.stacks import stack_name

if stack_name() != "aiortc":
    pytest.skip(
        "aiortc stack (getstream<7) only: 7.x events are getstream_rtc classes",
        allow_module_level=True,
    )

from getstream.video.rtc.pb.stream.video.sfu.event import events_pb2  # noqa: E402
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2  # noqa: E402

from pipecat_getstream.stacks.aiortc.events import sdk_event_inputs  # noqa: E402


def test_sdk_event_shapes_are_normalised():
    p = models_pb2.Participant(user_id="alice", session_id="s1")
    assert sdk_event_inputs(
        "participant_joined", (events_pb2.ParticipantJoined(participant=p),)
    ) == ("joined", "alice", "s1", "")
    assert (
        sdk_event_inputs("participant_left", (events_pb2.ParticipantLeft(participant=p),))[0]
        == "left"
    )
    assert sdk_event_inputs("track_added", ("t1", "video", p)) == (
        "subscribed",
        "alice",
        "s1",
        "video",
    )
    assert sdk_event_inputs("track_added", ("t1", "audio", None)) is None
    unpub = events_pb2.TrackUnpublished(
        user_id="alice", session_id="s1", type=models_pb2.TRACK_TYPE_AUDIO
    )
    assert sdk_event_inputs("track_unpublished", (unpub,)) == (
        "unsubscribed",
        "alice",
        "s1",
        "audio",
    )
    screen = events_pb2.TrackUnpublished(
        user_id="a", session_id="s", type=models_pb2.TRACK_TYPE_SCREEN_SHARE
    )
    assert sdk_event_inputs("track_unpublished", (screen,)) == (
        "unsubscribed",
        "a",
        "s",
        "screen_share",
    )
    assert sdk_event_inputs("track_added", ("p:TRACK_TYPE_SCREEN_SHARE:0", "video", p)) == (
        "subscribed",
        "alice",
        "s1",
        "screen_share",
    )
    screen_audio = events_pb2.TrackUnpublished(
        user_id="a", session_id="s", type=models_pb2.TRACK_TYPE_SCREEN_SHARE_AUDIO
    )
    assert sdk_event_inputs("track_unpublished", (screen_audio,)) is None
    assert sdk_event_inputs("health_check_response", (SimpleNamespace(),)) is None
