"""A track wrapper that gives every concurrent reader every frame.

After a fast reconnect the SDK restores published tracks by adding *another* reader of the
same source track while the old sender keeps reading (getstream 3.x-6.x). Two readers of a
paced track split its frames between them, so each sender gets every other frame and the
participant hears half the audio (after k reconnects, 1/(k+1)). Publishing the bot's tracks
through :class:`SharedReaderTrack` makes extra readers harmless: the source is read once per
frame and each reader receives every frame, in order, from where it joined.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from typing import Any

from aiortc.mediastreams import MediaStreamTrack

_KEEP_FRAMES = 16


class SharedReaderTrack(MediaStreamTrack):
    """Wraps a paced source track; each reading task gets the full frame sequence.

    Args:
        source: The track to read (its ``recv`` sets the pace).

    """

    def __init__(self, source: MediaStreamTrack):
        super().__init__()
        self.kind = source.kind
        self._source = source
        self._frames: deque[Any] = deque(maxlen=_KEEP_FRAMES)
        self._produced = 0  # frames read from the source so far
        self._next: weakref.WeakKeyDictionary[asyncio.Task[Any], int] = weakref.WeakKeyDictionary()
        self._read_lock = asyncio.Lock()

    @property
    def source(self) -> MediaStreamTrack:
        """The wrapped track."""
        return self._source

    @property
    def readers(self) -> int:
        """How many tasks are reading this track."""
        return len(self._next)

    async def recv(self) -> Any:
        """Return the reader's next frame, reading the source only when no one has yet."""
        task = asyncio.current_task()
        assert task is not None
        oldest = self._produced - len(self._frames)
        index = self._next.get(task)
        if index is None or index < oldest:
            index = self._produced  # a new (or far behind) reader starts at the live edge
        if index >= self._produced:
            async with self._read_lock:
                if index >= self._produced:
                    self._frames.append(await self._source.recv())
                    self._produced += 1
                    index = self._produced - 1
        self._next[task] = index + 1
        return self._frames[index - (self._produced - len(self._frames))]

    def stop(self) -> None:
        """Stop this track and its source."""
        super().stop()
        self._source.stop()
