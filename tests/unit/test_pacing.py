import asyncio

import numpy as np
import pytest

from pipecat_getstream.media.audio_out import PacedAudioWriter
from pipecat_getstream.media.timeline import FrameSplitter, PacingClock, ParticipantResampler
from pipecat_getstream.testing import signals
from pipecat_getstream.testing.signals import dominant_frequency


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_first_write_waits_until_only_the_lead_is_queued():
    clock = FakeClock()
    pacing = PacingClock(lead_secs=0.08, clock=clock)
    assert pacing.add(0.04) == 0.0  # 40 ms queued < 80 ms lead: no wait
    assert pacing.add(0.04) == pytest.approx(0.0, abs=1e-9)
    assert pacing.add(0.04) == pytest.approx(0.04)  # 120 ms queued: wait until 80 ms left
    assert pacing.queued_secs() == pytest.approx(0.12)


def test_timeline_follows_the_clock_not_the_sum_of_sleeps():
    clock = FakeClock()
    pacing = PacingClock(lead_secs=0.08, clock=clock)
    # Ten minutes of 40 ms chunks, where every wake-up is 3 ms late (an oversleeping loop).
    for _ in range(15000):
        wait = pacing.add(0.04)
        clock.now += wait + 0.003 if wait > 0 else 0.0
    # The queue never drained (no re-anchor) and the timeline end is exactly 600 s of audio
    # after the start: lateness did not accumulate into drift.
    assert pacing.reanchors == 0
    assert pacing.queued_secs() == pytest.approx(0.08 - 0.003, abs=1e-6)
    assert clock.now == pytest.approx(100.0 + 600.0 - 0.08 + 0.003, abs=1e-6)


def test_idle_sink_reanchors_at_now():
    clock = FakeClock()
    pacing = PacingClock(lead_secs=0.05, clock=clock)
    pacing.add(0.02)
    clock.now += 5.0  # pipeline idle: the sink ran dry
    assert pacing.add(0.02) == 0.0
    assert pacing.reanchors == 1
    assert pacing.queued_secs() == pytest.approx(0.02)


def test_reset_forgets_the_timeline():
    clock = FakeClock()
    pacing = PacingClock(lead_secs=0.0, clock=clock)
    pacing.add(1.0)
    pacing.reset()
    assert pacing.queued_secs() == 0.0
    assert pacing.add(0.02) == pytest.approx(0.02)


def test_negative_lead_is_refused():
    with pytest.raises(ValueError):
        PacingClock(lead_secs=-1)


def test_splitter_keeps_remainder_and_pads_tail():
    splitter = FrameSplitter(16000)
    assert splitter.frame_bytes == 640
    assert splitter.push(b"\x01" * 1000) == b"\x01" * 640
    assert splitter.pending_bytes == 360
    assert splitter.push(b"\x02" * 280) == b"\x01" * 360 + b"\x02" * 280
    assert splitter.pending_bytes == 0
    splitter.push(b"\x03" * 101)  # odd length is kept, padded at the tail
    tail = splitter.take_tail()
    assert len(tail) == 640 and tail[:100] == b"\x03" * 100 and tail[100:] == bytes(540)
    assert splitter.take_tail() == b""


class FakeSink:
    """Records the bytes the writer hands to the stack's audio sink (16-bit samples)."""

    def __init__(self) -> None:
        self.writes: list[np.ndarray] = []
        self.flushes = 0

    async def write(self, audio: bytes) -> None:
        self.writes.append(np.frombuffer(audio, dtype=np.int16))

    async def flush(self) -> None:
        self.flushes += 1
        self.writes.clear()


async def test_writer_sends_whole_frames_and_the_tail_soon_after():
    sink = FakeSink()
    writer = PacedAudioWriter(sink, 16000, lead_secs=0.2)
    await writer.write(b"\x00\x01" * 500, 16000, 1)  # 31.25 ms: one frame + a remainder
    assert [len(p) for p in sink.writes] == [320]
    await asyncio.sleep(0.05)  # no more audio: the padded tail goes out before the sink dries
    assert [len(p) for p in sink.writes] == [320, 320]
    await writer.close()


async def test_writer_returns_at_real_time_rate():
    sink = FakeSink()
    writer = PacedAudioWriter(sink, 16000, lead_secs=0.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(5):
        await writer.write(bytes(1280), 16000, 1)  # 40 ms each
    # With no lead, five 40 ms writes cannot return before ~160 ms of audio has played.
    assert loop.time() - start >= 0.15
    await writer.close()


async def test_writer_interrupt_flushes_sink_and_wakes_writer():
    sink = FakeSink()
    writer = PacedAudioWriter(sink, 16000, lead_secs=0.0)
    task = asyncio.create_task(writer.write(bytes(32000 * 5), 16000, 1))  # 5 s
    await asyncio.sleep(0.02)
    assert not task.done()
    await writer.interrupt()
    await asyncio.wait_for(task, 0.5)  # the sleeping writer wakes at once
    assert sink.flushes == 1 and sink.writes == []
    assert writer.pacing.queued_secs() == 0.0


async def test_writer_converts_other_rates_and_stereo():
    sink = FakeSink()
    writer = PacedAudioWriter(sink, 16000, lead_secs=1.0)
    stereo_48k = np.zeros(48000 // 10 * 2, dtype=np.int16).tobytes()  # 100 ms stereo 48 kHz
    await writer.write(stereo_48k, 48000, 2)
    await writer.drain_tail()
    total = sum(len(p) for p in sink.writes)
    assert abs(total - 1600) <= 320  # ~100 ms at 16 kHz mono, in whole frames
    assert all(len(p) % 320 == 0 for p in sink.writes)  # whole 20 ms mono frames


def tone(freq: float, rate: int, secs: float) -> np.ndarray:
    return signals.tone(freq, secs, rate=rate)


def test_participant_resampler_keeps_frequency():
    resampler = ParticipantResampler(16000)
    source = tone(440, 48000, 1.0)
    out = b"".join(resampler.convert(chunk, 48000, 1) for chunk in np.split(source, 50))
    samples = np.frombuffer(out, dtype=np.int16)
    assert abs(len(samples) - 16000) < 400
    assert abs(dominant_frequency(samples, 16000) - 440) < 5


def test_participant_resampler_passthrough_and_rate_change():
    resampler = ParticipantResampler(16000)
    same = tone(300, 16000, 0.02)
    assert resampler.convert(same, 16000, 1) == same.tobytes()
    # 100 ms at 48 kHz, then (the source changed rate) 100 ms at 8 kHz: each comes out as
    # ~100 ms at 16 kHz, still the same 300 Hz tone.
    first = np.frombuffer(resampler.convert(tone(300, 48000, 0.1), 48000, 1), dtype=np.int16)
    second = np.frombuffer(resampler.convert(tone(300, 8000, 0.1), 8000, 1), dtype=np.int16)
    for out in (first, second):
        assert abs(len(out) - 1600) <= 160, len(out)
        assert abs(dominant_frequency(out[160:], 16000) - 300) < 15
