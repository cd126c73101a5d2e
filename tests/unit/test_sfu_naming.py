"""Stream naming: the local SFU's msid ids, and how the transport reads them on each stack."""

from __future__ import annotations

import importlib
import re
import uuid
from types import SimpleNamespace

import pytest
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2

from pipecat_getstream.testing.server.sfu import naming


def web_sdk_type(stream_id: str) -> str | None:
    """What the web SDK's ``handleOnTrack`` makes of a stream id (``None``: dropped)."""
    raw = stream_id.split(":")[1] if ":" in stream_id else ""
    names = {"TRACK_TYPE_AUDIO", "TRACK_TYPE_VIDEO", "TRACK_TYPE_SCREEN_SHARE"}
    return raw if raw in names | {"TRACK_TYPE_SCREEN_SHARE_AUDIO"} else None


def test_forwarded_streams_are_named_as_the_cloud_names_them() -> None:
    for track_type in (1, 2, 3, 4):
        sid = naming.stream_id("a1e5f21f716affb7", track_type)
        name = models_pb2.TrackType.Name(track_type)  # type: ignore[arg-type]
        assert re.fullmatch(rf"a1e5f21f716affb7:{name}:[A-Za-z0-9]{{2}}", sid)
        assert web_sdk_type(sid) == name
        assert naming.parse_stream_id(sid) == ("a1e5f21f716affb7", track_type)
    track_id = naming.track_id()
    assert str(uuid.UUID(track_id)) == track_id and ":" not in track_id
    # The earlier numeric form is what the web SDK drops ("Unknown track type: 2").
    assert web_sdk_type("a1e5f21f716affb7:2") is None
    assert naming.parse_stream_id("a1e5f21f716affb7:2") == ("a1e5f21f716affb7", None)


def test_the_aiortc_stack_reads_a_screen_share_from_the_stream_id() -> None:
    pytest.importorskip("getstream.video.rtc.connection_utils", reason="SDK 3.x-6.x stack")
    events = importlib.import_module("pipecat_getstream.stacks.aiortc.events")
    is_screen_share, sdk_event_inputs = events.is_screen_share, events.sdk_event_inputs
    cloud_stream = naming.stream_id("p", models_pb2.TRACK_TYPE_SCREEN_SHARE)
    assert is_screen_share(str(uuid.uuid4()), cloud_stream)
    assert not is_screen_share(str(uuid.uuid4()), naming.stream_id("p", 2))
    assert is_screen_share("p:TRACK_TYPE_SCREEN_SHARE:0", "p:3")  # earlier local naming
    assert not is_screen_share("", "")
    person = SimpleNamespace(user_id="alice", session_id="s1")
    added = ("0b6e-uuid", "video", person, cloud_stream)
    assert sdk_event_inputs("track_added", added) == ("subscribed", "alice", "s1", "screen_share")
    assert sdk_event_inputs("track_added", added[:3]) == ("subscribed", "alice", "s1", "video")


def test_the_rust_stack_tells_camera_from_screen_share_without_the_type() -> None:
    rtc = pytest.importorskip("getstream_rtc", reason="SDK 7.x stack")
    kinds = importlib.import_module("pipecat_getstream.stacks.rust.kinds").VideoKinds()
    VIDEO, SCREEN = rtc.TrackType.VIDEO, rtc.TrackType.SCREEN_SHARE  # noqa: N806
    both = {"video", "screen_share"}
    # The SDK read a number: taken as it is.
    assert kinds.resolve(SCREEN, "s", [VIDEO, SCREEN], both, set()) == "screen_share"
    # Only one of them published, or only one wanted.
    assert kinds.resolve(VIDEO, "s", [SCREEN], both, set()) == "screen_share"
    assert kinds.resolve(VIDEO, "s", [VIDEO, SCREEN], {"video"}, set()) == "video"
    assert kinds.resolve(VIDEO, "s", [VIDEO, SCREEN], {"screen_share"}, set()) == "screen_share"
    assert kinds.resolve(VIDEO, "s", [], both, set()) == "video"
    # Both: the one not held yet.
    assert kinds.resolve(VIDEO, "s", [VIDEO, SCREEN], both, {"video"}) == "screen_share"
    assert kinds.resolve(VIDEO, "s", [VIDEO, SCREEN], both, {"screen_share"}) == "video"
    # Neither held: the one announced first; both held: the one announced last.
    kinds.published("s", "screen_share")
    kinds.published("s", "video")
    kinds.published("s", "audio")
    assert kinds.resolve(VIDEO, "s", [VIDEO, SCREEN], both, set()) == "screen_share"
    assert kinds.resolve(VIDEO, "s", [VIDEO, SCREEN], both, both) == "video"
    kinds.published("s", "screen_share")  # republished
    assert kinds.resolve(VIDEO, "s", [VIDEO, SCREEN], both, both) == "screen_share"
    kinds.forget("s")
    assert kinds.resolve(VIDEO, "s", [VIDEO, SCREEN], both, set()) == "video"
