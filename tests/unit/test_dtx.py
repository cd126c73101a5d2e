"""Silence generated where a participant's audio pauses (DTX gaps), with a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from pipecat_getstream.media.dtx import GapFiller, gap_silence

RATE = 16000
FRAME = 320  # 20 ms at 16 kHz


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def filler(clock: FakeClock, **kwargs: float) -> GapFiller:
    return GapFiller(RATE, grace_secs=0.1, max_fill_secs=5.0, clock=clock, **kwargs)


def talk(gaps: GapFiller, clock: FakeClock, seconds: float, user: str = "alice") -> None:
    """Real audio arriving in 20 ms frames at real time (each once captured, so the last
    arrives now); nothing is due meanwhile."""
    for _ in range(round(seconds / 0.02)):
        clock.now += 0.02
        gaps.heard(user, FRAME)
        assert gaps.due() == []


def test_nothing_is_due_while_audio_keeps_arriving():
    clock = FakeClock()
    gaps = filler(clock)
    talk(gaps, clock, 2.0)
    assert gaps.generated_frames == 0


def test_nothing_is_due_for_a_participant_never_heard():
    clock = FakeClock()
    gaps = filler(clock)
    clock.now += 10
    assert gaps.due() == [] and gaps.next_due_at() is None


def test_after_the_grace_the_whole_gap_is_filled_then_one_frame_per_frame_time():
    clock = FakeClock()
    gaps = filler(clock)
    talk(gaps, clock, 1.0)  # the audio ends exactly now
    end = clock.now
    clock.now = end + 0.099
    assert gaps.due() == []  # within the grace: packets may just be late
    assert gaps.next_due_at() == pytest.approx(end + 0.1)
    clock.now = end + 0.1
    assert gaps.due() == [("alice", 5)]  # all 100 ms since the audio ended
    clock.now = end + 0.119
    assert gaps.due() == []
    assert gaps.next_due_at() == pytest.approx(end + 0.12)
    clock.now = end + 0.12
    assert gaps.due() == [("alice", 1)]
    clock.now = end + 0.2
    assert gaps.due() == [("alice", 4)]


def test_generated_silence_keeps_pace_with_the_clock():
    # However the loop wakes, silence (plus audio) never runs ahead of wall time and never
    # falls more than one frame behind it.
    clock = FakeClock()
    gaps = filler(clock)
    talk(gaps, clock, 0.5)
    start_gap = clock.now
    frames = 0
    for step in (0.013, 0.2, 0.031, 0.5, 0.007, 0.25):
        clock.now += step
        frames += sum(n for _, n in gaps.due())
        elapsed = clock.now - start_gap
        if elapsed >= 0.1:
            assert elapsed - 0.02 < frames * 0.02 <= elapsed + 1e-9


def test_real_audio_resumes_without_delay_and_stops_the_silence():
    clock = FakeClock()
    gaps = filler(clock)
    talk(gaps, clock, 0.4)
    clock.now += 0.3
    assert gaps.due() == [("alice", 15)]
    talk(gaps, clock, 0.4)  # speech again: nothing generated in between
    clock.now += 0.05
    assert gaps.due() == []


def test_a_comfort_noise_packet_every_400_ms_is_topped_up_to_a_continuous_stream():
    clock = FakeClock()
    gaps = filler(clock)
    talk(gaps, clock, 0.2)
    start = clock.now
    frames = 0
    for _ in range(5):  # DTX: one 20 ms packet, then 380 ms of nothing
        clock.now += 0.02
        gaps.heard("alice", FRAME)
        frames += 1
        for _ in range(19):
            clock.now += 0.02
            frames += sum(n for _, n in gaps.due())
    assert frames == round((clock.now - start) / 0.02)  # no frame missing, none twice


def test_participants_are_timed_separately():
    clock = FakeClock()
    gaps = filler(clock)
    for _ in range(10):
        clock.now += 0.02
        gaps.heard("alice", FRAME)
        gaps.heard("bob", FRAME)
    for _ in range(10):
        clock.now += 0.02
        gaps.heard("bob", FRAME)  # bob keeps talking, alice paused
    assert gaps.due() == [("alice", 10)]


def test_forget_stops_the_silence_at_once():
    clock = FakeClock()
    gaps = filler(clock)
    talk(gaps, clock, 0.2)
    clock.now += 0.5
    assert gaps.due() == [("alice", 25)]
    gaps.forget("alice")  # left, or unpublished
    clock.now += 1.0
    assert gaps.due() == [] and gaps.participants == []


def test_silence_stops_after_max_fill_secs_without_a_packet():
    clock = FakeClock()
    gaps = filler(clock)
    talk(gaps, clock, 0.2)
    last_packet = clock.now
    clock.now = last_packet + 4.0
    frames = sum(n for _, n in gaps.due())
    clock.now = last_packet + 7.0
    frames += sum(n for _, n in gaps.due())
    # Silence up to 5 s after the last packet, then none.
    assert frames == round(5.0 / 0.02)
    assert gaps.participants == []
    clock.now += 1.0
    assert gaps.due() == []
    gaps.heard("alice", FRAME)  # heard again: timed again
    assert gaps.participants == ["alice"]


def test_a_burst_of_late_packets_is_timed_from_its_arrival():
    # 200 ms arrive at once after a network stall: the sender is on time again, so its next
    # packet is due one frame after the burst, and silence the grace after the burst.
    clock = FakeClock()
    gaps = filler(clock)
    burst = clock.now
    for _ in range(10):
        gaps.heard("alice", FRAME)
    assert gaps.next_due_at() == pytest.approx(burst + 0.1)
    clock.now = burst + 0.099
    assert gaps.due() == []
    clock.now = burst + 0.1
    assert gaps.due() == [("alice", 5)]


def test_a_burst_mid_stream_does_not_delay_the_silence_of_the_next_gap():
    # A stall and its backlog at once (or packets recovered by NACK, handed over together),
    # then audio on time again: the next gap is filled from the newest packet on. Summing
    # the audio instead would keep the timeline 80 ms ahead of the clock until that gap.
    clock = FakeClock()
    gaps = filler(clock)
    talk(gaps, clock, 0.5)
    clock.now += 0.08  # a stall shorter than the grace...
    for _ in range(5):  # ...and its backlog
        gaps.heard("alice", FRAME)
    clock.now += 0.02
    assert gaps.due() == []
    talk(gaps, clock, 1.0)
    end = clock.now  # the last frame arrived now
    clock.now = end + 0.099
    assert gaps.due() == []
    clock.now = end + 0.1
    assert gaps.due() == [("alice", 5)]


def test_invalid_configuration_is_refused():
    with pytest.raises(ValueError):
        GapFiller(0)
    with pytest.raises(ValueError):
        GapFiller(RATE, frame_secs=0)
    with pytest.raises(ValueError):
        GapFiller(RATE, grace_secs=-1)
    with pytest.raises(ValueError):
        GapFiller(RATE, grace_secs=1.0, max_fill_secs=0.5)


async def test_gap_silence_yields_what_becomes_due():
    clock = FakeClock()
    gaps = filler(clock)
    stream = gap_silence(gaps, clock=clock)
    gaps.heard("alice", FRAME)
    clock.now += 0.12
    assert await asyncio.wait_for(anext(stream), 1.0) == [("alice", 6)]
    clock.now += 0.04
    assert await asyncio.wait_for(anext(stream), 1.0) == [("alice", 2)]
    await stream.aclose()
