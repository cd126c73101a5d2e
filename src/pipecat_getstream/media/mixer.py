"""Everyone's audio as one real-time stream (``audio_in_user_tracks=False``).

A pipeline with one VAD and one STT needs one stream at real time, not interleaved
per-participant frames. :class:`ParticipantMixer` buffers each participant's audio (already
mono s16 at the pipeline's rate) and, on every tick of a clock, takes one chunk from each
and sums them (``int32``, clipped to ``int16``). The clock, not the participants, sets the
pace: with two people talking at once or nobody talking, one chunk leaves per tick.

Jitter: a participant's audio is mixed only once ``jitter_ms`` of it is buffered, so
packets that arrive in bursts play out smoothly; a participant whose audio runs out (late,
muted, gone) is not waited for: the mix goes on without them, and they are mixed again
once the window has filled up again, or once their oldest sample has waited as long as the
window (a lone packet, such as the comfort noise DTX sends every ~400 ms while the user is
silent, plays out on time instead of waiting for the next words). The mix itself never
pauses: while nobody's audio arrives (DTX gaps included) each tick is silence, so a VAD or
STT reading it sees the end of a turn on time. Each buffer is bounded (``max_buffer_ms``): beyond
it the oldest audio is dropped down to the jitter window, so latency never builds up.

:class:`TickClock` says how many chunks are due at a given time (pure, so both are unit
tested with a fake clock); :func:`mixed_chunks` is the async loop the input processor runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import numpy as np

#: Duration of one mixed chunk (one Pipecat input frame), in milliseconds.
CHUNK_MS = 20

#: Audio a participant buffers before being mixed (absorbs network jitter).
DEFAULT_JITTER_MS = 60

#: Audio buffered per participant at most; beyond it the oldest is dropped.
DEFAULT_MAX_BUFFER_MS = 200

#: Ticks caught up at once after the loop stalled; a longer stall restarts the clock.
MAX_CATCH_UP_TICKS = 25


class _Buffer:
    """One participant's pending samples (a bounded FIFO of ``int16``)."""

    __slots__ = ("parts", "size", "primed", "waited")

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []
        self.size = 0
        self.primed = False
        self.waited = 0  # ticks the buffered audio has waited for its window to fill

    def append(self, samples: np.ndarray) -> None:
        self.parts.append(samples)
        self.size += len(samples)

    def drop_oldest(self, count: int) -> None:
        data = np.concatenate(self.parts) if len(self.parts) > 1 else self.parts[0]
        data = data[count:]
        self.parts = [data] if len(data) else []
        self.size = len(data)

    def take(self, count: int) -> np.ndarray:
        """Remove and return up to ``count`` samples (fewer when fewer are buffered)."""
        if not self.parts:
            return np.zeros(0, dtype=np.int16)
        data = np.concatenate(self.parts) if len(self.parts) > 1 else self.parts[0]
        head, rest = data[:count], data[count:]
        self.parts = [rest] if len(rest) else []
        self.size = len(rest)
        return head


class ParticipantMixer:
    """Mixes participants' audio into fixed-size chunks, one per :meth:`mix` call.

    Args:
        sample_rate: Rate of every participant's audio and of the mix (mono s16).
        chunk_ms: Duration of one mixed chunk.
        jitter_ms: Audio a participant buffers before being mixed (and again after their
            audio ran out).
        max_buffer_ms: Audio buffered per participant at most.

    Raises:
        ValueError: On a non-positive rate or chunk, or a buffer smaller than the window.

    """

    def __init__(
        self,
        sample_rate: int,
        chunk_ms: int = CHUNK_MS,
        jitter_ms: int = DEFAULT_JITTER_MS,
        max_buffer_ms: int = DEFAULT_MAX_BUFFER_MS,
    ):
        if sample_rate <= 0 or chunk_ms <= 0:
            raise ValueError("sample_rate and chunk_ms must be positive")
        if jitter_ms < 0 or max_buffer_ms < max(jitter_ms, chunk_ms):
            raise ValueError("need 0 <= jitter_ms and max_buffer_ms >= jitter_ms and chunk_ms")
        self.sample_rate = sample_rate
        self.chunk = sample_rate * chunk_ms // 1000
        self._jitter = max(self.chunk, sample_rate * jitter_ms // 1000)
        self._max = sample_rate * max_buffer_ms // 1000
        self._buffers: dict[str, _Buffer] = {}
        self.dropped_samples = 0  # trimmed from buffers that grew past max_buffer_ms
        self.late_chunks = 0  # chunks in which a mixed participant had too little audio

    @property
    def participants(self) -> list[str]:
        """Participants with a buffer (heard recently or waiting for their window)."""
        return list(self._buffers)

    def buffered(self, participant_id: str) -> int:
        """Samples buffered for ``participant_id`` (0 when unknown)."""
        buffer = self._buffers.get(participant_id)
        return buffer.size if buffer is not None else 0

    def add(self, participant_id: str, samples: np.ndarray) -> None:
        """Buffer a participant's mono ``int16`` samples (at ``sample_rate``)."""
        if not len(samples):
            return
        buffer = self._buffers.get(participant_id)
        if buffer is None:
            buffer = self._buffers[participant_id] = _Buffer()
        buffer.append(np.asarray(samples, dtype=np.int16))
        if buffer.size > self._max:
            excess = buffer.size - self._jitter
            buffer.drop_oldest(excess)
            self.dropped_samples += excess
        if not buffer.primed and buffer.size >= self._jitter:
            buffer.primed, buffer.waited = True, 0

    def remove(self, participant_id: str) -> None:
        """Forget a participant's buffered audio (they left, or are no longer heard)."""
        self._buffers.pop(participant_id, None)

    def clear(self) -> None:
        """Forget everything."""
        self._buffers.clear()

    def mix(self) -> bytes:
        """One chunk of every primed participant's audio summed (silence when nobody).

        A participant whose audio has waited a whole jitter window without filling it is
        mixed from this chunk on.
        """
        total: np.ndarray | None = None
        for participant_id, buffer in list(self._buffers.items()):
            if not buffer.primed:
                buffer.waited += 1
                if buffer.waited * self.chunk < self._jitter:
                    continue
                buffer.primed, buffer.waited = True, 0
            part = buffer.take(self.chunk)
            if len(part) < self.chunk:
                # Ran out: mix what there is, then wait for a full window again.
                self.late_chunks += 1
                buffer.primed = False
                if not buffer.size:
                    del self._buffers[participant_id]
            if total is None:
                total = np.zeros(self.chunk, dtype=np.int32)
            total[: len(part)] += part
        if total is None:
            return bytes(self.chunk * 2)
        return np.clip(total, -32768, 32767).astype(np.int16).tobytes()


class TickClock:
    """A fixed-interval schedule that says how many ticks are due.

    After a stall, up to ``max_catch_up`` missed ticks are due at once (the stream keeps
    real-time rate); after a longer one the schedule restarts from now.

    Args:
        interval: Seconds between ticks.
        now: The current time (the first tick is due at once).
        max_catch_up: Ticks due at once at most.

    """

    def __init__(self, interval: float, now: float, max_catch_up: int = MAX_CATCH_UP_TICKS):
        self.interval = interval
        self._start = now
        self._ticks = 0
        self._max = max_catch_up
        self.restarts = 0

    def due(self, now: float) -> int:
        """Ticks due at ``now``; they count as done."""
        behind = int((now - self._start) / self.interval) + 1 - self._ticks
        if behind > self._max:
            self.restarts += 1
            self._start, self._ticks = now, 1
            return 1
        behind = max(0, behind)
        self._ticks += behind
        return behind

    def next_at(self) -> float:
        """When the next tick is due."""
        return self._start + self._ticks * self.interval


async def mixed_chunks(
    mixer: ParticipantMixer, clock: Callable[[], float] = time.monotonic
) -> AsyncIterator[bytes]:
    """Yield one mixed chunk per ``CHUNK_MS`` of wall time, forever.

    Args:
        mixer: The mixer to drain.
        clock: Monotonic clock in seconds.

    Yields:
        Mixed mono s16 chunks of ``mixer.chunk`` samples.

    """
    ticks = TickClock(mixer.chunk / mixer.sample_rate, clock())
    while True:
        for _ in range(ticks.due(clock())):
            yield mixer.mix()
        await asyncio.sleep(max(0.0, ticks.next_at() - clock()))
