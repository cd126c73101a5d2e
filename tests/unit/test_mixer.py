"""The participant mixer and its tick clock (pure logic, fake clocks)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from pipecat_getstream.media.mixer import ParticipantMixer, TickClock, mixed_chunks

RATE = 16000
CHUNK = 320  # 20 ms


def chunk_of(value: int, n: int = CHUNK) -> np.ndarray:
    return np.full(n, value, dtype=np.int16)


def mixed(mixer: ParticipantMixer) -> np.ndarray:
    return np.frombuffer(mixer.mix(), dtype=np.int16)


def test_nobody_gives_silence_of_one_chunk():
    mixer = ParticipantMixer(RATE)
    out = mixed(mixer)
    assert len(out) == CHUNK and not out.any()


def test_a_participant_is_mixed_once_the_jitter_window_is_full():
    mixer = ParticipantMixer(RATE, jitter_ms=60)
    mixer.add("a", chunk_of(100))
    mixer.add("a", chunk_of(100))
    assert not mixed(mixer).any()  # 40 ms buffered: still waiting
    mixer.add("a", chunk_of(100))
    assert (mixed(mixer) == 100).all()
    assert mixer.buffered("a") == 2 * CHUNK


def test_two_participants_are_summed():
    mixer = ParticipantMixer(RATE, jitter_ms=20)
    mixer.add("a", chunk_of(1000))
    mixer.add("b", chunk_of(-300))
    assert (mixed(mixer) == 700).all()


def test_sum_is_clipped_not_wrapped():
    mixer = ParticipantMixer(RATE, jitter_ms=20)
    mixer.add("a", chunk_of(-30000))
    mixer.add("b", chunk_of(-30000))
    assert (mixed(mixer) == -32768).all()
    mixer.add("a", chunk_of(30000))
    mixer.add("b", chunk_of(30000))
    assert (mixed(mixer) == 32767).all()


def test_a_late_participant_is_not_waited_for():
    mixer = ParticipantMixer(RATE, jitter_ms=20)
    mixer.add("a", chunk_of(10, CHUNK * 3))
    mixer.add("b", chunk_of(5))
    assert (mixed(mixer) == 15).all()
    # b sends nothing more: a keeps playing at the clock's pace, alone.
    assert (mixed(mixer) == 10).all()
    assert mixer.participants == ["a"]  # b ran out and was forgotten
    assert (mixed(mixer) == 10).all()
    assert not mixed(mixer).any()
    assert mixer.participants == []


def test_partial_chunk_is_mixed_then_the_window_refills():
    mixer = ParticipantMixer(RATE, jitter_ms=40)
    mixer.add("a", chunk_of(7, CHUNK * 2 + 100))
    mixed(mixer)
    mixed(mixer)
    out = mixed(mixer)  # 100 samples left
    assert (out[:100] == 7).all() and not out[100:].any()
    assert mixer.late_chunks == 1
    mixer.add("a", chunk_of(7))  # 20 ms < 40 ms window: not yet
    assert not mixed(mixer).any()


def test_buffer_is_bounded_and_trimmed_to_the_window():
    mixer = ParticipantMixer(RATE, jitter_ms=60, max_buffer_ms=200)
    for _ in range(50):  # one second arrives at once
        mixer.add("a", chunk_of(1))
    assert mixer.buffered("a") <= RATE * 200 // 1000
    assert mixer.dropped_samples > 0


def test_remove_forgets_a_participant():
    mixer = ParticipantMixer(RATE, jitter_ms=20)
    mixer.add("a", chunk_of(9))
    mixer.remove("a")
    assert not mixed(mixer).any()


def test_invalid_configuration_is_refused():
    with pytest.raises(ValueError):
        ParticipantMixer(0)
    with pytest.raises(ValueError):
        ParticipantMixer(RATE, jitter_ms=100, max_buffer_ms=50)


def test_tick_clock_counts_due_ticks_and_catches_up_a_short_stall():
    clock = TickClock(0.02, now=0.0, max_catch_up=10)
    assert clock.due(0.0) == 1
    assert clock.due(0.01) == 0
    assert clock.due(0.02) == 1
    assert clock.next_at() == pytest.approx(0.04)
    assert clock.due(0.1) == 4  # 40, 60, 80, 100 ms
    assert clock.restarts == 0


def test_tick_clock_restarts_after_a_long_stall():
    clock = TickClock(0.02, now=0.0, max_catch_up=5)
    clock.due(0.0)
    assert clock.due(1.0) == 1
    assert clock.restarts == 1
    assert clock.next_at() == pytest.approx(1.02)


async def test_mixed_chunks_follow_the_clock():
    now = [0.0]
    mixer = ParticipantMixer(RATE)
    stream = mixed_chunks(mixer, clock=lambda: now[0])
    chunks = [await anext(stream)]
    now[0] = 0.1  # 100 ms later: five more chunks are due
    for _ in range(5):
        chunks.append(await asyncio.wait_for(anext(stream), 1.0))
    assert all(len(c) == CHUNK * 2 for c in chunks)


def test_a_lone_packet_plays_after_waiting_one_window_not_at_the_next_words():
    # DTX: while the user is silent one comfort-noise packet arrives every ~400 ms.
    mixer = ParticipantMixer(RATE, jitter_ms=60)
    mixer.add("a", chunk_of(3))
    assert not mixed(mixer).any()
    assert not mixed(mixer).any()
    assert (mixed(mixer) == 3).all()  # waited 60 ms: mixed on this tick
    assert not mixed(mixer).any()
    assert mixer.participants == []


async def test_the_mix_stays_continuous_while_a_participant_sends_nothing():
    now = [0.0]
    mixer = ParticipantMixer(RATE, jitter_ms=20)
    stream = mixed_chunks(mixer, clock=lambda: now[0])
    mixer.add("a", chunk_of(500, CHUNK * 2))
    chunks = [await anext(stream)]
    now[0] = 0.4  # the speaker's packets stop (DTX): a chunk per tick all the same
    for _ in range(20):
        chunks.append(await asyncio.wait_for(anext(stream), 1.0))
    values = [np.frombuffer(c, dtype=np.int16) for c in chunks]
    assert (values[0] == 500).all() and (values[1] == 500).all()
    assert all(len(v) == CHUNK and not v.any() for v in values[2:])
