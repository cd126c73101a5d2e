"""Fault injection: dropped sockets, ended calls, kicks, failing joins, media faults."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from getstream.video.rtc.audio_track import AudioStreamTrack
from getstream.video.rtc.reconnection import ReconnectionStrategy

from pipecat_getstream.testing import LocalStreamServer

from .sdk_kit import SAMPLE_RATE, AudioLog, SdkKit, api_error, median_frequency, wait_for
from .test_audio import write_tone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def new_call(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def collect(cm: Any, name: str) -> list[Any]:
    seen: list[Any] = []

    @cm.on(name)
    async def _on(*args: Any) -> None:
        seen.append(args)

    return seen


async def loud_rate(log: AudioLog, seconds: float = 1.0) -> tuple[int, float]:
    """Loud frames received over ``seconds`` and their dominant frequency."""
    t0 = time.perf_counter()
    await wait_for(lambda: False, timeout=seconds)
    loud = log.loud_since(t0)
    return len(loud), median_frequency([s for _, s in loud], SAMPLE_RATE)


async def reconnected(cm: Any, server: Any, expected: int) -> bool:
    """Wait for a fast reconnect, kicking the SDK once if it fell for its own race.

    The SDK can report a fast reconnect as done (ICE restart only) while its
    signaling socket is dead (connection_lost fires before the socket is marked
    closed; see stream-protocol.md). A transport guards with a watchdog; so does this.
    Returns whether the watchdog was needed.
    """
    if await wait_for(lambda: server.reconnect_count >= expected, timeout=3):
        return False
    ws = cm.ws_client
    if ws is None or not ws.running:
        await cm._reconnector.reconnect(ReconnectionStrategy.FAST, "test watchdog")
    assert await wait_for(lambda: server.reconnect_count >= expected, timeout=10)
    return True


async def test_media_faults_then_sfu_socket_drops(sdk: SdkKit) -> None:
    call_id = new_call("drop")
    alice, bob = sdk.participant(call_id, "alice"), sdk.participant(call_id, "bob")
    heard = AudioLog(bob, from_user="alice")
    async with alice, bob:
        track = AudioStreamTrack(sample_rate=SAMPLE_RATE)
        await alice.add_tracks(audio=track)
        assert await wait_for(lambda: len(heard.frames) >= 10, timeout=10)

        # Injected delay on every forwarded frame.
        sdk.server.set_media_faults(delay_ms=300)
        t0 = time.perf_counter()
        await write_tone(track, 440, 0.3)
        assert await wait_for(lambda: len(heard.loud_since(t0)) >= 1, timeout=5)
        delayed_ms = (heard.loud_since(t0)[0][0] - t0) * 1000
        sdk.server.set_media_faults()
        print(f"\n[local-server] latency with 300 ms injected delay: {delayed_ms:.0f} ms")
        assert delayed_ms >= 300

        # Dropped frames (after the delayed frames have drained).
        await write_tone(track, 440, 20.0)
        await wait_for(lambda: False, timeout=1.0)
        before, _ = await loud_rate(heard)
        sdk.server.set_media_faults(drop_fraction=0.5)
        await wait_for(lambda: False, timeout=0.3)
        lossy, _ = await loud_rate(heard)
        sdk.server.set_media_faults()
        print(f"[local-server] loud frames/s clean {before}, with 50% drop {lossy}")
        assert before >= 40 and lossy <= before * 0.75

        # Dropped signaling sockets: subscriber first, then publisher.
        for count, (dropped, cm) in enumerate((("bob", bob), ("alice", alice)), start=1):
            assert sdk.server.drop_sfu_socket(dropped, "default", call_id) == 1
            kicked = await reconnected(cm, sdk.server, count)
            assert await wait_for(
                lambda: all(s["connected"] for s in sdk.server.sessions("default", call_id)), 5
            )
            await wait_for(lambda: False, timeout=1.0)
            after, freq = await loud_rate(heard)
            print(
                f"[local-server] {dropped} dropped: loud frames/s before {before}, after {after}"
                f"{' (SDK needed the watchdog)' if kicked else ''}"
            )
            if dropped == "bob":
                assert after >= 0.9 * before and abs(freq - 440) <= 10
            else:
                # SDK bug: restoring the published tracks after a fast reconnect adds a
                # second MediaRelay reader on the same source track, so the new sender
                # gets every other frame (the old one the rest). Half the audio resumes.
                assert after >= 0.4 * before and abs(freq - 440) <= 30
        assert sorted(sdk.server.participants("default", call_id)) == ["alice", "bob"]
        assert sdk.server.sfu_join_count == 2


async def test_session_leaves_after_the_fast_reconnect_deadline() -> None:
    async with LocalStreamServer(fast_reconnect_deadline_s=2) as server:
        sdk = SdkKit(server)
        call_id = new_call("deadline")
        alice, bob = sdk.participant(call_id, "alice"), sdk.participant(call_id, "bob")
        left = collect(alice, "participant_left")
        async with alice, bob:
            assert bob.reconnector._fast_reconnect_deadline_seconds == 2
            # Keep bob's SDK from reconnecting: it never learns its socket dropped.
            bob.ws_client._notify_connection_lost = lambda reason: None
            dropped_at = time.perf_counter()
            server.drop_sfu_socket("bob")
            assert sorted(server.participants("default", call_id)) == ["alice", "bob"]
            assert await wait_for(lambda: len(left) == 1, timeout=6)
            assert time.perf_counter() - dropped_at >= 1.9
            assert left[0][0].participant.user_id == "bob"
            assert server.participants("default", call_id) == ["alice"]


async def test_kick_then_end_call(sdk: SdkKit) -> None:
    call_id = new_call("end")
    alice, bob = sdk.participant(call_id, "alice"), sdk.participant(call_id, "bob")
    ended_a, ended_b = collect(alice, "call_ended"), collect(bob, "call_ended")
    left = collect(alice, "participant_left")
    async with alice, bob:
        assert sdk.server.remove_participant("default", call_id, "bob") == 1
        assert await wait_for(lambda: ended_b and left, timeout=5)
        assert left[0][0].participant.user_id == "bob" and not ended_a
        # The SDK tries to fast-reconnect after call_ended; the server refuses.
        await wait_for(lambda: False, timeout=0.5)
        assert sdk.server.participants("default", call_id) == ["alice"]

        assert sdk.server.end_call("default", call_id)
        assert await wait_for(lambda: bool(ended_a), timeout=5)
        await wait_for(lambda: False, timeout=0.5)
        assert sdk.server.participants("default", call_id) == []
    assert sdk.server.sfu_join_count == 2


async def test_failing_joins_raise_then_recover(sdk: SdkKit) -> None:
    call_id = new_call("failjoin")
    sdk.server.fail_next_joins(1, status=503)
    started = time.perf_counter()
    with pytest.raises(Exception) as info:
        async with sdk.participant(call_id, "alice"):
            pass
    assert api_error(info.value)[0] == 503
    assert time.perf_counter() - started < 5
    async with sdk.participant(call_id, "alice"):
        assert sdk.server.participants("default", call_id) == ["alice"]
    assert sdk.server.join_count == 1
