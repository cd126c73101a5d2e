"""Audio between two SDK participants through the local SFU."""

from __future__ import annotations

import asyncio
import time
import uuid

import numpy as np
import pytest

from .sdk_kit import SDK7, SdkKit, dominant_frequency, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


async def test_audio_tone_reaches_the_other_participant_both_ways(sdk: SdkKit) -> None:
    call_id = f"audio-{uuid.uuid4().hex[:8]}"
    alice = sdk.participant(call_id, "alice")
    bob = sdk.participant(call_id, "bob")
    started = time.perf_counter()
    async with alice:
        join_s = time.perf_counter() - started
        async with bob:
            assert sorted(sdk.server.participants("default", call_id)) == ["alice", "bob"]
            a_out, b_out = await asyncio.gather(alice.publish_audio(), bob.publish_audio())
            # 3.x-6.x publishers send silence while starved; 7.x sends what is written.
            await asyncio.gather(a_out.write_silence(0.5), b_out.write_silence(0.5))
            assert await wait_for(
                lambda: bob.audio.count() >= 10 and alice.audio.count() >= 10, timeout=10
            )

            written_at = time.perf_counter()
            await asyncio.gather(a_out.write_tone(440, 1.5), b_out.write_tone(880, 1.5))
            assert await wait_for(
                lambda: (
                    len(bob.audio.loud_since(written_at)) >= 50
                    and len(alice.audio.loud_since(written_at)) >= 50
                ),
                timeout=10,
            )
            # Every frame is attributed to its publisher.
            assert bob.audio.owners() == {"alice"} and alice.audio.owners() == {"bob"}
            to_bob = bob.audio.loud_since(written_at, "alice")
            to_alice = alice.audio.loud_since(written_at, "bob")
            latency_ms = (to_bob[0][0] - written_at) * 1000
            freq = dominant_frequency(np.concatenate([s for _, s in to_bob[5:50]]), bob.audio.rate)
            back = dominant_frequency(
                np.concatenate([s for _, s in to_alice[5:50]]), alice.audio.rate
            )
            assert abs(freq - 440) <= 10, f"dominant frequency {freq:.1f} Hz"
            assert abs(back - 880) <= 10, f"dominant frequency {back:.1f} Hz"
            print(
                f"\n[local-server {bob.generation}] join {join_s * 1000:.0f} ms, "
                f"SDK->SDK audio latency {latency_ms:.0f} ms, tone {freq:.1f} Hz"
            )
            assert [(u, k) for u, k, _ in bob.tracks] == [("alice", "audio")]
            if not SDK7:
                # The cloud's naming: the stream id is the publisher's lookup prefix and
                # the track type's name; the track id is a UUID of its own.
                prefix = bob.lookup_prefix("alice")  # type: ignore[attr-defined]
                track_id = bob.tracks[0][2]
                stream_id = bob.cm.participants_state.get_stream_id_from_track_id(track_id)
                assert stream_id.split(":")[:2] == [prefix, "TRACK_TYPE_AUDIO"]
                assert str(uuid.UUID(track_id)) == track_id
