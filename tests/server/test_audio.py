"""Audio between two SDK participants through the local SFU."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import numpy as np
import pytest
from getstream.video.rtc.audio_track import AudioStreamTrack

from .sdk_kit import SAMPLE_RATE, AudioLog, SdkKit, dominant_frequency, tone, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


async def write_tone(track: AudioStreamTrack, freq: float, seconds: float) -> None:
    """Write a tone, flushing the tail on SDKs whose write() takes ``final``."""
    pcm = tone(freq, seconds)
    try:
        await track.write(pcm, final=True)
    except TypeError:
        await track.write(pcm)


async def test_audio_tone_reaches_the_other_participant_both_ways(sdk: SdkKit) -> None:
    call_id = f"audio-{uuid.uuid4().hex[:8]}"
    alice = sdk.participant(call_id, "alice")
    bob = sdk.participant(call_id, "bob")
    bob_hears = AudioLog(bob, from_user="alice")
    alice_hears = AudioLog(alice, from_user="bob")
    added: list[tuple[str, str, str]] = []

    @bob.on("track_added")
    async def on_track_added(track_id: str, kind: str, user: Any) -> None:
        added.append((track_id, kind, getattr(user, "user_id", "")))

    started = time.perf_counter()
    async with alice:
        join_s = time.perf_counter() - started
        async with bob:
            assert sorted(sdk.server.participants("default", call_id)) == ["alice", "bob"]
            a_track, b_track = AudioStreamTrack(sample_rate=SAMPLE_RATE), AudioStreamTrack()
            await asyncio.gather(alice.add_tracks(audio=a_track), bob.add_tracks(audio=b_track))
            # Publishers send silence while starved: wait for both paths to be up.
            assert await wait_for(
                lambda: len(bob_hears.frames) >= 10 and len(alice_hears.frames) >= 10, timeout=10
            )

            written_at = time.perf_counter()
            await asyncio.gather(write_tone(a_track, 440, 1.5), write_tone(b_track, 880, 1.5))
            assert await wait_for(
                lambda: (
                    len(bob_hears.loud_since(written_at)) >= 50
                    and len(alice_hears.loud_since(written_at)) >= 50
                ),
                timeout=10,
            )
            latency_ms = (bob_hears.loud_since(written_at)[0][0] - written_at) * 1000
            to_bob = np.concatenate([s for _, s in bob_hears.loud_since(written_at)[5:50]])
            to_alice = np.concatenate([s for _, s in alice_hears.loud_since(written_at)[5:50]])
            rate = bob_hears.frames[-1][1].sample_rate
            freq = dominant_frequency(to_bob, rate)
            pcm = bob_hears.frames[-1][1]
            assert pcm.participant is not None and pcm.participant.user_id == "alice"
            assert abs(freq - 440) <= 10, f"dominant frequency {freq:.1f} Hz"
            assert abs(dominant_frequency(to_alice, rate) - 880) <= 10
            print(
                f"\n[local-server] join {join_s * 1000:.0f} ms, "
                f"SDK->SDK audio latency {latency_ms:.0f} ms, tone {freq:.1f} Hz"
            )
            assert latency_ms < 1000
            # Forwarded track ids carry the publisher's lookup prefix.
            prefix = next(
                p.track_lookup_prefix
                for p in bob.participants_state.get_participants()
                if p.user_id == "alice"
            )
            assert [(t.split(":")[0], t.split(":")[1], k, u) for t, k, u in added] == [
                (prefix, "TRACK_TYPE_AUDIO", "audio", "alice")
            ]
