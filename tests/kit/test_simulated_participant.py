"""SimulatedParticipant end to end: two real SDK users on the plugin's server fixtures."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from pipecat_getstream.testing import SimulatedParticipant
from pipecat_getstream.testing.signals import silence, tone, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def test_one_hears_the_other_and_events_go_both_ways(
    getstream_call_id, simulated_participant
):
    alice = await simulated_participant(getstream_call_id, "alice")
    bob = await simulated_participant(getstream_call_id, "bob")
    await alice.wait_for_participant("bob")
    await bob.wait_for_participant("alice")

    started = await alice.say(np.concatenate([tone(440, 1.0), silence(0.5), tone(880, 0.6)]))
    first = await bob.wait_for_sound("alice", since=started)
    assert first - started < 1.0
    last = await bob.wait_for_silence("alice", quiet=0.6)
    heard = bob.recording("alice")
    assert bob.speakers() == ["alice"]
    segments = heard.segments(started - 0.5)
    assert len(segments) == 2, segments
    (a0, a1), (b0, b1) = segments
    assert 0.8 <= a1 - a0 <= 1.2 and 0.4 <= b1 - b0 <= 0.8 and 0.3 <= b0 - a1 <= 0.7
    assert abs(heard.dominant_frequency(started) - 440) < 15
    assert abs(heard.dominant_frequency(last - 0.3) - 880) < 15
    assert alice.recording("bob").heard_anything() is False  # bob never spoke

    await bob.send_event({"question": "hello?"})
    event = await alice.wait_for_event(lambda e: e["custom"].get("question") == "hello?")
    assert event["user"]["id"] == "bob"

    await bob.leave()
    assert await wait_until(lambda: "bob" in alice.left, timeout=10)


async def test_camera_and_screen_share_frames_arrive(getstream_call_id, simulated_participant):
    alice = await simulated_participant(getstream_call_id, "alice")
    bob = await simulated_participant(getstream_call_id, "bob", receive_video=True)
    codec = await alice.start_camera(320, 240)
    assert codec in ("vp8", "h264")
    assert await wait_until(lambda: len(bob.video_sizes("alice")) >= 10, timeout=20)
    assert set(bob.video_sizes("alice")[-5:]) == {(320, 240)}
    if alice.generation == "3.x-6.x":
        with pytest.raises(NotImplementedError, match="screen share"):
            await alice.start_screen_share()
        pytest.skip("SDK 3.x-6.x publish no screen share (add_tracks takes audio and video)")
    await alice.start_screen_share(640, 360)
    assert await wait_until(lambda: len(bob.video_sizes("alice", "screen_share")) >= 5, timeout=20)
    assert bob.video_sizes("alice", "screen_share")[-1] == (640, 360)


async def test_usable_from_another_event_loop_and_off_the_callers_loop(
    getstream_server, getstream_call_id
):
    """A participant made and used on a second thread's loop; the SDK runs on neither."""
    sdk_threads: set[str] = set()

    async def in_other_loop() -> float:
        async with SimulatedParticipant(getstream_server, getstream_call_id, "carol") as carol:
            original = carol._inbox.audio

            def spy(*args):
                sdk_threads.add(threading.current_thread().name)
                original(*args)

            carol._inbox.audio = spy  # type: ignore[method-assign]
            async with SimulatedParticipant(getstream_server, getstream_call_id, "dave") as dave:
                started = await dave.say(tone(660, 0.6))
                await carol.wait_for_sound("dave", since=started)
                return carol.recording("dave").dominant_frequency(started)

    result: list[float] = []
    worker = threading.Thread(target=lambda: result.append(asyncio.run(in_other_loop())))
    worker.start()
    await asyncio.get_running_loop().run_in_executor(None, worker.join, 60)
    assert result and abs(result[0] - 660) < 15
    assert sdk_threads == {"participant-carol"}


async def test_bad_inputs_are_clear_errors(getstream_server):
    from pipecat_getstream.errors import GetstreamConfigError

    with pytest.raises(GetstreamConfigError, match="user_id"):
        SimulatedParticipant(getstream_server, "call", "")
    idle = SimulatedParticipant(getstream_server, "call", "erin")
    with pytest.raises(RuntimeError, match="join"):
        await idle.say(tone(440, 0.1))
    with pytest.raises(GetstreamConfigError, match="frequency"):
        tone(0, 1.0)
