"""The input audio feed: bounded, drop-oldest, released as Pipecat consumes (fake clock)."""

import asyncio
from dataclasses import dataclass, field
from itertools import count

import pytest

from pipecat_getstream.media.audio_in import InputAudioFeed

_ids = count(1)


@dataclass
class Frame:
    id: int = field(default_factory=lambda: next(_ids))


class FakeClock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


async def test_frames_pass_straight_through_while_pipecat_keeps_up():
    feed = InputAudioFeed(capacity=3, clock=FakeClock())
    for _ in range(10):
        frame = Frame()
        assert feed.put(frame) is False
        assert await feed.get() is frame
        feed.consumed(frame.id)
    assert feed.dropped == 0 and feed.buffered == 0


async def test_total_buffered_is_bounded_and_the_oldest_waiting_frame_is_dropped():
    feed = InputAudioFeed(capacity=3, clock=FakeClock())
    handed = [Frame(), Frame()]
    for frame in handed:
        feed.put(frame)
        assert await feed.get() is frame  # outstanding in Pipecat, never consumed
    first, second, third = Frame(), Frame(), Frame()
    assert feed.put(first) is False  # 2 outstanding + 1 waiting = capacity
    assert feed.put(second) is True  # full: the oldest waiting frame makes room
    assert feed.dropped == 1 and feed.waiting == 1
    feed.consumed(handed[0].id)
    assert await feed.get() is second
    assert feed.put(third) is False
    assert await feed.get() is third
    # All three are inside Pipecat now: a new frame cannot displace any, so it is dropped.
    assert feed.put(Frame()) is True and feed.waiting == 0 and feed.dropped == 2


async def test_get_waits_for_room_and_wakes_on_consumption():
    feed = InputAudioFeed(capacity=1, clock=FakeClock())
    a, b = Frame(), Frame()
    feed.put(a)
    assert await feed.get() is a
    feed.put(b)  # capacity 1: a is outstanding, so b is dropped
    assert feed.dropped == 1
    feed.consumed(a.id)
    c = Frame()
    feed.put(c)
    assert await asyncio.wait_for(feed.get(), 1) is c


async def test_unobserved_frames_stop_counting_after_release_after():
    clock = FakeClock()
    feed = InputAudioFeed(capacity=2, release_after=1.0, clock=clock)
    for _ in range(2):
        feed.put(Frame())
        await feed.get()  # swallowed by a filter: never pushed on
    assert feed.outstanding == 2
    clock.now += 1.5
    assert feed.outstanding == 0
    frame = Frame()
    assert feed.put(frame) is False
    assert await asyncio.wait_for(feed.get(), 1) is frame


async def test_without_observation_only_the_waiting_frames_are_bounded():
    feed = InputAudioFeed(capacity=2, observe=False, clock=FakeClock())
    for _ in range(5):
        feed.put(Frame())
        await feed.get()
    assert feed.dropped == 0 and feed.outstanding == 0
    for _ in range(3):
        feed.put(Frame())
    assert feed.waiting == 2 and feed.dropped == 1


async def test_a_later_frame_leaving_pipecat_accounts_for_swallowed_earlier_ones():
    feed = InputAudioFeed(capacity=5, clock=FakeClock())
    frames = [Frame() for _ in range(4)]
    for frame in frames:
        feed.put(frame)
        await feed.get()
    feed.consumed(frames[2].id)  # frames 0 and 1 were swallowed by a filter
    assert feed.outstanding == 1
    feed.consumed(frames[0].id)  # already accounted for: no effect
    assert feed.outstanding == 1


async def test_a_slow_pipeline_keeps_its_frames_counted():
    clock = FakeClock()
    feed = InputAudioFeed(capacity=3, release_after=1.0, clock=clock)
    frames = [Frame() for _ in range(3)]
    for frame in frames:
        feed.put(frame)
        await feed.get()
    for frame in frames[:2]:  # one frame every 0.6 s: slow, but progressing
        clock.now += 0.6
        feed.consumed(frame.id)
        assert feed.outstanding >= 1
    assert feed.outstanding == 1


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        InputAudioFeed(0)
