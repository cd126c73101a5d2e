"""Departure reasons, handler arity fitting and participant details (pure logic)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pipecat_getstream.call.dispatch import fit_arguments
from pipecat_getstream.people.departures import DepartureReasons, reason_from_text, reason_hint
from pipecat_getstream.people.participant_info import CallPeople, ParticipantInfo, participant_info
from pipecat_getstream.testing.server.coordinator.call_events import (
    KICKED_REASON,
    LEFT_REASON,
    TIMEOUT_REASON,
)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (LEFT_REASON, "left"),
        (TIMEOUT_REASON, "timeout"),
        (KICKED_REASON, "removed"),
        ("user was blocked", "removed"),
        ("connection lost", "timeout"),
        ("the call ended", "call_ended"),
        ("", "left"),
        ("something new", "left"),
    ],
)
def test_reason_from_text(text: str, reason: str) -> None:
    assert reason_from_text(text) == reason


def test_reason_hints_from_coordinator_events() -> None:
    left = {
        "type": "call.session_participant_left",
        "participant": {"user": {"id": "alice"}, "user_session_id": "s1"},
        "reason": TIMEOUT_REASON,
    }
    assert reason_hint(left) == ("alice", "s1", "timeout")
    kicked = {"type": "call.kicked_user", "user": {"id": "mallory"}}
    assert reason_hint(kicked) == ("mallory", None, "removed")
    assert reason_hint({"type": "call.session_participant_left", "participant": {}}) is None
    assert reason_hint({"type": "custom", "custom": {}}) is None


async def test_departure_waits_for_its_reason_then_defaults_to_left() -> None:
    reasons = DepartureReasons(wait_secs=0.05)
    got: list[str] = []
    reasons.depart("alice", "s1", got.append)
    assert got == []
    await asyncio.sleep(0.1)
    assert got == ["left"]


async def test_departure_delivered_when_the_reason_arrives() -> None:
    reasons = DepartureReasons(wait_secs=5)
    got: list[str] = []
    reasons.depart("alice", "s1", got.append)
    reasons.hint("alice", "other-session", "timeout")  # another session: not this one
    assert got == []
    reasons.hint("alice", "s1", "timeout")
    assert got == ["timeout"]


async def test_reason_before_departure_wins_and_is_used_once() -> None:
    reasons = DepartureReasons(wait_secs=0.05)
    got: list[str] = []
    reasons.hint("mallory", None, "removed")
    reasons.hint("mallory", "s1", "left")
    reasons.depart("mallory", "s1", got.append)
    assert got == ["removed"]  # the most specific reason
    reasons.depart("mallory", "s2", got.append)  # a later departure needs its own reason
    await asyncio.sleep(0.1)
    assert got == ["removed", "left"]


async def test_cancel_forgets_held_departures() -> None:
    reasons = DepartureReasons(wait_secs=0.05)
    got: list[str] = []
    reasons.depart("alice", "s1", got.append)
    reasons.cancel()
    await asyncio.sleep(0.1)
    assert got == []


def test_fit_arguments_keeps_and_trims() -> None:
    calls: list[tuple[Any, ...]] = []

    async def new_style(transport: Any, participant_id: str, reason: str) -> None:
        calls.append((participant_id, reason))

    async def old_style(transport: Any, participant_id: str) -> None:
        calls.append((participant_id,))

    def sync_old(transport: Any, participant_id: str) -> None:
        calls.append(("sync", participant_id))

    async def varargs(transport: Any, *args: Any) -> None:
        calls.append(args)

    assert fit_arguments(new_style, 3) is new_style
    assert fit_arguments(varargs, 3) is varargs
    fitted = fit_arguments(old_style, 3)
    assert asyncio.iscoroutinefunction(fitted)
    asyncio.run(fitted("t", "alice", "left"))
    fitted_sync = fit_arguments(sync_old, 3)
    assert not asyncio.iscoroutinefunction(fitted_sync)
    fitted_sync("t", "bob", "removed")
    asyncio.run(fit_arguments(varargs, 3)("t", "carol", "timeout"))
    assert calls == [("alice",), ("sync", "bob"), ("carol", "timeout")]


class _Proto:
    """A stand-in with the SFU Participant's field names (as both SDKs expose them)."""

    user_id = "alice"
    session_id = "s1"
    name = "Alice"
    image = "https://example.invalid/a.png"
    roles = ["host"]
    custom = {"team": "blue"}
    published_tracks = [1, 2, 3, 2]
    is_dominant_speaker = False


def test_participant_info_reads_sdk_participants() -> None:
    info = participant_info(_Proto())
    assert info == ParticipantInfo(
        user_id="alice",
        session_id="s1",
        name="Alice",
        image="https://example.invalid/a.png",
        roles=("host",),
        custom={"team": "blue"},
        published_tracks=("microphone", "camera", "screenVideo"),
    )


def test_participant_info_reads_a_protobuf_participant() -> None:
    from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2

    proto = models_pb2.Participant(user_id="bob", session_id="s2", name="Bob", roles=["user"])
    proto.custom.update({"level": 3})
    proto.published_tracks.append(models_pb2.TRACK_TYPE_AUDIO)
    info = participant_info(proto)
    assert (info.user_id, info.name, info.roles) == ("bob", "Bob", ("user",))
    assert info.custom == {"level": 3} and info.published_tracks == ("microphone",)


def test_call_people_updates_and_speaker() -> None:
    people = CallPeople("bot")
    alice = ParticipantInfo(user_id="alice", session_id="s1", name="Alice")
    assert people.seen(alice, changed=False, present=True) == []
    assert people.seen(alice, changed=True, present=True) == []  # nothing changed
    renamed = ParticipantInfo(user_id="alice", session_id="s1", name="Alice L.")
    assert people.seen(renamed, changed=True, present=True) == [
        ("on_participant_updated", ("alice",))
    ]
    assert people.seen(ParticipantInfo(user_id="bot", session_id="b"), True, True) == []
    assert people.speaker("alice") == [("on_active_speaker_changed", ("alice",))]
    assert people.speaker("alice") == []
    info = people.get("alice")
    assert info is not None and info.speaking and info.name == "Alice L."
    people.speaker("bot")
    info = people.get("alice")
    assert info is not None and not info.speaking
    people.forget("alice")
    assert people.get("alice") is None
