"""Participant events, late joiners and rejoins."""

from __future__ import annotations

import time
import uuid
from typing import Any

import numpy as np
import pytest
from getstream.video.rtc.audio_track import AudioStreamTrack

from .sdk_kit import SAMPLE_RATE, AudioLog, SdkKit, dominant_frequency, wait_for
from .test_audio import write_tone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def record(cm: Any, name: str) -> list[str]:
    """Collect the user ids of a participant event."""
    seen: list[str] = []

    @cm.on(name)
    async def _on(event: Any) -> None:
        seen.append(event.participant.user_id)

    return seen


async def test_participant_events_and_late_joiner_media(sdk: SdkKit) -> None:
    call_id = f"events-{uuid.uuid4().hex[:8]}"
    alice = sdk.participant(call_id, "alice")
    joined, left = record(alice, "participant_joined"), record(alice, "participant_left")
    async with alice:
        track = AudioStreamTrack(sample_rate=SAMPLE_RATE)
        await alice.add_tracks(audio=track)
        bob = sdk.participant(call_id, "bob")
        async with bob:
            assert await wait_for(lambda: joined == ["bob"], timeout=5)
            users = {p.user_id for p in bob.participants_state.get_participants()}
            assert users == {"alice", "bob"}

            carol = sdk.participant(call_id, "carol")
            carol_saw_left = record(carol, "participant_left")
            heard = AudioLog(carol, from_user="alice")
            async with carol:
                assert await wait_for(lambda: joined == ["bob", "carol"], timeout=5)
                published = [
                    p for p in carol.participants_state.get_participants() if p.published_tracks
                ]
                assert [p.user_id for p in published] == ["alice"]
                # The SDK subscribes late joiners only when asked to (as against the cloud).
                await carol.republish_tracks()
                assert await wait_for(lambda: len(heard.frames) >= 5, timeout=10)
                t0 = time.perf_counter()
                await write_tone(track, 660, 1.0)
                assert await wait_for(lambda: len(heard.loud_since(t0)) >= 25, timeout=10)
                samples = np.concatenate([s for _, s in heard.loud_since(t0)[3:25]])
                assert abs(dominant_frequency(samples, SAMPLE_RATE) - 660) <= 10

                await bob.leave()
                assert await wait_for(lambda: left == ["bob"] and carol_saw_left == ["bob"], 5)
                assert sorted(sdk.server.participants("default", call_id)) == ["alice", "carol"]
        assert await wait_for(lambda: left == ["bob", "carol"], timeout=5)
        assert sdk.server.participants("default", call_id) == ["alice"]
    assert sdk.server.participants("default", call_id) == []


async def test_subscriptions_work_again_after_a_participant_rejoins(sdk: SdkKit) -> None:
    call_id = f"rejoin-{uuid.uuid4().hex[:8]}"
    bob = sdk.participant(call_id, "bob")
    heard = AudioLog(bob, from_user="alice")
    async with bob:
        for round_no, freq in enumerate((440, 550)):
            alice = sdk.participant(call_id, "alice")
            async with alice:
                track = AudioStreamTrack(sample_rate=SAMPLE_RATE)
                await alice.add_tracks(audio=track)
                t0 = time.perf_counter()
                assert await wait_for(
                    lambda t0=t0: any(at >= t0 for at, _ in heard.frames), timeout=10
                ), f"round {round_no}: no audio"
                await write_tone(track, freq, 1.0)
                assert await wait_for(lambda t0=t0: len(heard.loud_since(t0)) >= 25, timeout=10)
                samples = np.concatenate([s for _, s in heard.loud_since(t0)[3:25]])
                assert abs(dominant_frequency(samples, SAMPLE_RATE) - freq) <= 10
            assert await wait_for(
                lambda: sdk.server.participants("default", call_id) == ["bob"], timeout=5
            )
        assert sdk.server.sfu_join_count == 3
