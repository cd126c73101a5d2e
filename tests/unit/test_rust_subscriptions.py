"""Which sessions hold screen shares back until their camera arrives (SDK 7.x stack)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

rtc = pytest.importorskip("getstream_rtc", reason="the Rust stack needs SDK 7.x")

from pipecat_getstream.stacks.rust.subscriptions import cameras_pending  # noqa: E402

BOTH = [rtc.TrackType.AUDIO, rtc.TrackType.VIDEO, rtc.TrackType.SCREEN_SHARE]


def person(session_id: str, *tracks: object) -> SimpleNamespace:
    return SimpleNamespace(session_id=session_id, published_tracks=list(tracks))


def test_only_sessions_publishing_both_without_a_held_camera_are_pending():
    people = [
        person("both", *BOTH),
        person("held", *BOTH),
        person("camera-only", rtc.TrackType.VIDEO),
        person("screen-only", rtc.TrackType.SCREEN_SHARE),
        person("bot", *BOTH),
    ]
    assert cameras_pending(people, "bot", {"held"}) == {"both"}


def test_nobody_is_pending_in_an_empty_call():
    assert cameras_pending([], None, set()) == set()
