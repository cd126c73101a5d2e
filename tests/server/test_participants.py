"""Participant events, late joiners, leaves and rejoins."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from .sdk_kit import SAMPLE_RATE, SdkKit, dominant_frequency, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


async def test_participant_events_and_late_joiner_media(sdk: SdkKit) -> None:
    call_id = f"events-{uuid.uuid4().hex[:8]}"
    alice = sdk.participant(call_id, "alice")
    async with alice:
        out = await alice.publish_audio()
        bob = sdk.participant(call_id, "bob")
        async with bob:
            assert await wait_for(lambda: alice.joined == ["bob"], timeout=5)
            assert bob.participants() == ["alice", "bob"]

            carol = sdk.participant(call_id, "carol")
            async with carol:
                assert await wait_for(lambda: alice.joined == ["bob", "carol"], timeout=5)
                assert await wait_for(lambda: carol.publishers() == ["alice"], timeout=5)
                await carol.subscribe_to_late_publishers()
                await out.write_silence(0.5)
                assert await wait_for(lambda: carol.audio.count("alice") >= 5, timeout=10)
                t0 = time.perf_counter()
                await out.write_tone(660, 1.0)
                assert await wait_for(
                    lambda: len(carol.audio.loud_since(t0, "alice")) >= 25, timeout=10
                )
                samples = np.concatenate([s for _, s in carol.audio.loud_since(t0, "alice")[3:25]])
                assert abs(dominant_frequency(samples, SAMPLE_RATE) - 660) <= 10

                await bob.leave()
                assert await wait_for(
                    lambda: alice.left == ["bob"] and carol.left == ["bob"], timeout=5
                )
                assert sorted(sdk.server.participants("default", call_id)) == ["alice", "carol"]
                assert await wait_for(lambda: carol.participants() == ["alice", "carol"], 5)
        assert await wait_for(lambda: alice.left == ["bob", "carol"], timeout=5)
        assert sdk.server.participants("default", call_id) == ["alice"]
    assert sdk.server.participants("default", call_id) == []


async def test_subscriptions_work_again_after_a_participant_rejoins(sdk: SdkKit) -> None:
    call_id = f"rejoin-{uuid.uuid4().hex[:8]}"
    bob = sdk.participant(call_id, "bob")
    async with bob:
        for round_no, freq in enumerate((440, 550)):
            alice = sdk.participant(call_id, "alice")
            async with alice:
                out = await alice.publish_audio()
                t0 = time.perf_counter()
                await out.write_silence(0.5)
                assert await wait_for(
                    lambda t0=t0: bool(bob.audio.since(t0, "alice")), timeout=10
                ), f"round {round_no}: no audio"
                await out.write_tone(freq, 1.0)
                assert await wait_for(
                    lambda t0=t0: len(bob.audio.loud_since(t0, "alice")) >= 25, timeout=10
                )
                samples = np.concatenate([s for _, s in bob.audio.loud_since(t0, "alice")[3:25]])
                assert abs(dominant_frequency(samples, SAMPLE_RATE) - freq) <= 10
            assert await wait_for(
                lambda: sdk.server.participants("default", call_id) == ["bob"], timeout=5
            )
        assert sdk.server.sfu_join_count == 3
