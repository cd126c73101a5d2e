"""Video between two SDK participants through the local SFU, per codec."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from .sdk_kit import PARTICIPANT_CLASS, SdkKit, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def fps_of(frames: list[tuple[float, int, int]], window_s: float = 1.5) -> float:
    """Frame rate over the last ``window_s`` of received frames."""
    recent = [f for f in frames if f[0] >= frames[-1][0] - window_s]
    return (len(recent) - 1) / max(recent[-1][0] - recent[0][0], 1e-6)


@pytest.mark.parametrize("codec", ["vp8", "vp9", "h264"])
async def test_camera_video_of_the_published_size_arrives_both_ways(
    sdk: SdkKit, codec: str
) -> None:
    reason = PARTICIPANT_CLASS.cannot_publish(codec)
    if reason:
        pytest.skip(reason)
    call_id = f"video-{codec}-{uuid.uuid4().hex[:8]}"
    alice = sdk.participant(call_id, "alice")
    bob = sdk.participant(call_id, "bob")
    async with alice, bob:
        await asyncio.gather(
            alice.publish_video(codec, 320, 240), bob.publish_video(codec, 240, 160)
        )
        assert await wait_for(
            lambda: len(bob.video_from("alice")) >= 10 and len(alice.video_from("bob")) >= 10,
            timeout=20,
        ), f"tracks seen by bob: {bob.tracks}, by alice: {alice.tracks}"
        before = len(bob.video_from("alice")), len(alice.video_from("bob"))
        await wait_for(lambda: False, timeout=1.5)  # the frame rate over 1.5 s, for the log
        to_bob, to_alice = bob.video_from("alice"), alice.video_from("bob")
        fps = fps_of(to_bob)
        print(f"\n[local-server {bob.generation}] {codec} video {to_bob[-1][1:]} at {fps:.1f} fps")
    assert ("alice", "video") in [(u, k) for u, k, _ in bob.tracks]
    assert {(w, h) for _, w, h in to_bob} == {(320, 240)}
    assert {(w, h) for _, w, h in to_alice} == {(240, 160)}
    # Video kept arriving both ways (liveness; the rate is the benchmarks' business).
    assert len(to_bob) > before[0] and len(to_alice) > before[1], (before, fps)


async def test_screen_share_arrives(sdk: SdkKit) -> None:
    reason = PARTICIPANT_CLASS.cannot_publish("vp8", screen_share=True)
    if reason:
        pytest.skip(reason)
    call_id = f"screen-{uuid.uuid4().hex[:8]}"
    alice = sdk.participant(call_id, "alice")
    bob = sdk.participant(call_id, "bob", track_types=(1, 2, 3))
    async with alice, bob:
        await alice.publish_video("vp8", 640, 360, screen_share=True)
        assert await wait_for(
            lambda: len(bob.video_from("alice", "screen_share")) >= 10, timeout=20
        ), f"tracks seen by bob: {bob.tracks}"
        assert sdk.server.sessions("default", call_id)
    assert ("alice", "screen_share") in [(u, k) for u, k, _ in bob.tracks]
    assert {(w, h) for _, w, h in bob.video_from("alice", "screen_share")} == {(640, 360)}
    assert not bob.video_from("alice", "video")


async def test_camera_and_screen_share_of_one_codec_stay_apart(sdk: SdkKit) -> None:
    # Both VP8, so one payload type: only the SSRCs the subscriber was told tell them apart.
    reason = PARTICIPANT_CLASS.cannot_publish("vp8", screen_share=True)
    if reason:
        pytest.skip(reason)
    call_id = f"two-{uuid.uuid4().hex[:8]}"
    alice = sdk.participant(call_id, "alice")
    bob = sdk.participant(call_id, "bob", track_types=(1, 2, 3))
    async with alice, bob:
        await alice.publish_video("vp8", 320, 240)
        # Under the cloud's stream names SDK 7.x types both tracks VIDEO (server
        # sfu/naming.py): it tells them apart by which it already receives, so the screen
        # share starts once the camera arrives.
        assert await wait_for(lambda: len(bob.video_from("alice")) >= 1, timeout=20)
        await alice.publish_video("vp8", 640, 360, screen_share=True)
        assert await wait_for(
            lambda: (
                len(bob.video_from("alice", "screen_share")) >= 20
                and len(bob.video_from("alice")) >= 20
            ),
            timeout=20,
        ), f"tracks seen by bob: {bob.tracks}"
    assert {(w, h) for _, w, h in bob.video_from("alice")} == {(320, 240)}
    assert {(w, h) for _, w, h in bob.video_from("alice", "screen_share")} == {(640, 360)}
