"""Participants' audio on its way into Pipecat: a bounded queue with flow control.

Pipecat's input base keeps an unbounded queue between ``push_audio_frame`` and its audio
task (filter, VAD, turn analysis). :class:`InputAudioFeed` bounds what is buffered in front
of and inside it: frames handed to Pipecat that its audio task has not pushed on yet
("outstanding") plus frames waiting here never exceed ``capacity``; beyond that the oldest
waiting frame is dropped (counted). So a pipeline slower than real time loses the oldest
audio instead of building a backlog, using only Pipecat's public ``push_audio_frame`` and
``push_frame``. While the pipeline keeps up, frames pass straight through (a burst after a
stall is handed over at once, not a few frames per loop iteration).

Pipecat's queue is first in, first out, so a frame seen leaving it also accounts for every
frame handed over before it (one a filter swallowed, for instance). If Pipecat passes
nothing on for ``release_after`` seconds (input paused, or a filter that swallows all), the
outstanding frames stop counting, so nothing ever stalls. With
``audio_in_passthrough=False`` nothing is observable and the feed only bounds its own queue.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

#: Seconds without any observed progress after which outstanding frames stop counting.
DEFAULT_RELEASE_AFTER = 2.0


class InputAudioFeed:
    """A bounded, drop-oldest queue of input audio frames, released as Pipecat consumes them.

    Args:
        capacity: Frames buffered (waiting here plus outstanding in Pipecat) at most.
        observe: Whether Pipecat's consumption can be observed (``audio_in_passthrough``);
            without it only the frames waiting here are bounded.
        release_after: Seconds without progress after which outstanding frames no longer
            count.
        clock: Monotonic clock in seconds (tests pass a fake one).

    """

    def __init__(
        self,
        capacity: int,
        observe: bool = True,
        release_after: float = DEFAULT_RELEASE_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ):
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self.observe = observe
        self._release_after = release_after
        self._clock = clock
        self._waiting: deque[Any] = deque()
        self._outstanding: OrderedDict[int, None] = OrderedDict()  # in hand-out order
        self._progress_at = clock()
        self._changed = asyncio.Event()
        self.dropped = 0

    @property
    def waiting(self) -> int:
        """Frames queued here, not yet handed to Pipecat."""
        return len(self._waiting)

    @property
    def outstanding(self) -> int:
        """Frames handed to Pipecat and not yet seen leaving its audio task."""
        self._expire()
        return len(self._outstanding)

    def put(self, frame: Any) -> bool:
        """Queue a frame; returns ``True`` when a frame was dropped to make room.

        The oldest waiting frame is dropped; when every buffered frame is already inside
        Pipecat (out of reach), the new frame is.
        """
        if self.buffered < self.capacity:
            self._waiting.append(frame)
            self._changed.set()
            return False
        self.dropped += 1
        if self._waiting:
            self._waiting.popleft()
            self._waiting.append(frame)
            self._changed.set()
        return True

    @property
    def buffered(self) -> int:
        """Frames waiting here plus those outstanding in Pipecat (when observed)."""
        return len(self._waiting) + (self.outstanding if self.observe else 0)

    def consumed(self, frame_id: int) -> None:
        """Pipecat's audio task pushed the frame with this ``id`` downstream.

        Every frame handed over before it is done too (Pipecat's queue is FIFO).
        """
        if frame_id not in self._outstanding:
            return
        while self._outstanding.popitem(last=False)[0] != frame_id:
            pass
        self._progress_at = self._clock()
        self._changed.set()

    async def get(self) -> Any:
        """Wait for a frame (and room inside Pipecat); the frame then counts as outstanding."""
        while True:
            if self._waiting and self._has_room():
                frame = self._waiting.popleft()
                if self.observe:
                    if not self._outstanding:
                        self._progress_at = self._clock()
                    self._outstanding[frame.id] = None
                return frame
            self._changed.clear()
            timeout = self._next_expiry() if self._waiting else None
            # A timer, not asyncio.wait_for: no extra task per wait.
            timer = (
                asyncio.get_running_loop().call_later(timeout, self._changed.set)
                if timeout is not None
                else None
            )
            try:
                await self._changed.wait()
            finally:
                if timer is not None:
                    timer.cancel()

    def clear(self) -> None:
        """Forget everything (teardown)."""
        self._waiting.clear()
        self._outstanding.clear()
        self._changed.set()

    def _has_room(self) -> bool:
        if not self.observe:
            return True
        self._expire()
        return len(self._outstanding) < self.capacity

    def _expire(self) -> None:
        if self._outstanding and self._clock() - self._progress_at >= self._release_after:
            self._outstanding.clear()
            self._progress_at = self._clock()

    def _next_expiry(self) -> float | None:
        if not self._outstanding:
            return None
        return max(0.001, self._progress_at + self._release_after - self._clock())
