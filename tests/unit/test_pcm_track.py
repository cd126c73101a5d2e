"""The aiortc stack's bot microphone: PcmAudioTrack and the sink that writes to it (3.3.3-6.x)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from pipecat_getstream.stacks import stack_name

if stack_name() != "aiortc":
    pytest.skip(
        "aiortc stack (getstream<7) only: 7.x publishes through getstream_rtc tracks",
        allow_module_level=True,
    )

from aiortc.mediastreams import MediaStreamError  # noqa: E402

from pipecat_getstream.stacks.aiortc.media import AiortcAudioSink  # noqa: E402
from pipecat_getstream.stacks.aiortc.tracks import PcmAudioTrack  # noqa: E402

FRAME = 960  # 20 ms at 48 kHz


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ramp(n: int, start: int = 0) -> np.ndarray:
    return (np.arange(start, start + n) % 30000).astype(np.int16)


async def test_whole_frames_come_out_in_order_with_consecutive_timestamps():
    clock = FakeClock()
    track = PcmAudioTrack(1, clock=clock)
    track.write(ramp(3 * FRAME))
    frames = []
    for _ in range(3):
        frames.append(await track.recv())
        clock.now += 0.02
    assert [f.pts for f in frames] == [0, FRAME, 2 * FRAME]
    assert all(f.sample_rate == 48000 and f.samples == FRAME for f in frames)
    out = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    assert np.array_equal(out, ramp(3 * FRAME))


async def test_a_partial_frame_waits_for_the_rest_and_silence_fills_in():
    clock = FakeClock()
    track = PcmAudioTrack(1, clock=clock)
    track.write(ramp(FRAME // 2))
    assert track.queued_frames == 0
    assert not (await track.recv()).to_ndarray().any()  # nothing whole yet: silence
    track.write(ramp(FRAME // 2, FRAME // 2))
    clock.now += 0.02
    assert np.array_equal((await track.recv()).to_ndarray().reshape(-1), ramp(FRAME))


async def test_stereo_is_interleaved_per_frame():
    clock = FakeClock()
    track = PcmAudioTrack(2, clock=clock)
    track.write(ramp(2 * FRAME))
    frame = await track.recv()
    assert frame.layout.name == "stereo" and frame.samples == FRAME
    assert np.array_equal(frame.to_ndarray().reshape(-1), ramp(2 * FRAME))


async def test_flush_drops_queued_and_partial_audio():
    clock = FakeClock()
    track = PcmAudioTrack(1, clock=clock)
    track.write(ramp(2 * FRAME + 10))
    track.flush()
    assert track.queued_frames == 0
    track.write(ramp(FRAME - 10))  # would complete the dropped partial frame
    assert track.queued_frames == 0


async def test_the_queue_is_bounded_and_keeps_the_newest():
    track = PcmAudioTrack(1, max_secs=0.1, clock=FakeClock())
    track.write(ramp(10 * FRAME))
    assert track.queued_frames == 5
    assert (await track.recv()).to_ndarray()[0, 0] == ramp(10 * FRAME)[5 * FRAME]


async def test_a_stopped_track_ends():
    track = PcmAudioTrack(1, clock=FakeClock())
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()


async def test_recv_waits_until_the_frame_is_due():
    clock = FakeClock()
    track = PcmAudioTrack(1, clock=clock)
    await track.recv()  # the first frame anchors the timeline
    clock.now -= 10.0  # the clock "went back": the next frame is far from due
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(track.recv(), 0.05)


async def test_the_sink_sends_48k_as_is_and_converts_other_rates():
    at48 = AiortcAudioSink(48000, 1)
    await at48.write(ramp(2 * FRAME).tobytes())
    assert at48.track.queued_frames == 2
    assert np.array_equal((await at48.track.recv()).to_ndarray().reshape(-1), ramp(FRAME))
    at16 = AiortcAudioSink(16000, 1)
    for _ in range(5):
        await at16.write(np.zeros(320, dtype=np.int16).tobytes())  # 20 ms at 16 kHz
    assert at16.track.queued_frames == 5
    await at16.flush()
    assert at16.track.queued_frames == 0
