"""The bot's aiortc tracks: a reader-sharing wrapper, and the PCM microphone.

:class:`PcmAudioTrack` is the bot's audio as aiortc reads it (see its docstring).

After a fast reconnect the SDK restores published tracks by adding *another* reader of the
same source track while the old sender keeps reading (getstream 3.x-6.x). Two readers of a
paced track split its frames between them, so each sender gets every other frame and the
participant hears half the audio (after k reconnects, 1/(k+1)). Publishing the bot's tracks
through :class:`SharedReaderTrack` makes extra readers harmless: the source is read once per
frame and each reader receives every frame, in order, from where it joined.
"""

from __future__ import annotations

import asyncio
import fractions
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

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


class PcmAudioTrack(MediaStreamTrack):
    """The bot's microphone for aiortc: s16 audio in, one 20 ms ``AudioFrame`` per ``recv``.

    Used instead of the SDK's ``AudioStreamTrack``, which sends every write through a PyAV
    ``AudioResampler`` (numpy to ``AudioFrame`` and back, and an FFmpeg error leaked per
    call) only to cut it into 20 ms frames. Here the samples written are cut into frames as
    numpy views and become an ``AudioFrame`` once, when aiortc reads them. ``recv`` paces
    the frames on a monotonic clock and sends silence when nothing is queued, so the RTP
    timeline never stalls (as the SDK's track does).

    Args:
        channels: Channel count (1 or 2), interleaved.
        sample_rate: The track's rate (aiortc's Opus encoder takes 48 kHz as is).
        max_secs: Audio queued at most; beyond it the oldest frames are dropped.
        clock: Monotonic clock in seconds (tests pass a fake one).

    """

    kind = "audio"

    def __init__(
        self,
        channels: int = 1,
        sample_rate: int = 48000,
        max_secs: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__()
        self._clock = clock
        self.sample_rate = sample_rate
        self.channels = channels
        self._per_frame = sample_rate // 50  # samples per channel in 20 ms
        self._frame_len = self._per_frame * channels
        self._layout = "stereo" if channels == 2 else "mono"
        self._frames: deque[np.ndarray] = deque(maxlen=max(1, int(max_secs * 50)))
        self._pending: np.ndarray = np.zeros(0, dtype=np.int16)  # under a frame, waiting
        self._silence = np.zeros((1, self._frame_len), dtype=np.int16)
        self._start: float | None = None
        self._sent = 0

    @property
    def queued_frames(self) -> int:
        """Whole 20 ms frames waiting to be sent."""
        return len(self._frames)

    def write(self, samples: np.ndarray) -> None:
        """Queue interleaved ``int16`` samples at the track's rate and channel count."""
        if len(self._pending):
            samples = np.concatenate([self._pending, samples])
        whole = len(samples) - len(samples) % self._frame_len
        rows = np.ascontiguousarray(samples[:whole], dtype=np.int16).reshape(-1, self._frame_len)
        self._frames.extend(row.reshape(1, -1) for row in rows)
        self._pending = samples[whole:].copy()

    def flush(self) -> None:
        """Drop everything queued (interruption)."""
        self._frames.clear()
        self._pending = np.zeros(0, dtype=np.int16)

    async def recv(self) -> av.AudioFrame:
        """The next 20 ms frame (silence when none is queued), when it is due."""
        if self.readyState != "live":
            raise MediaStreamError
        now = self._clock()
        if self._start is None:
            self._start = now
        else:
            due = self._start + self._sent * self._per_frame / self.sample_rate
            if due > now:
                await asyncio.sleep(due - now)
        data = self._frames.popleft() if self._frames else self._silence
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout=self._layout)
        frame.sample_rate = self.sample_rate
        frame.pts = self._sent * self._per_frame
        frame.time_base = fractions.Fraction(1, self.sample_rate)
        self._sent += 1
        return frame
