"""The clock-paced audio writer: Pipecat output audio into the SDK's audio track."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import numpy as np

from pipecat_getstream.media.resample import StreamResampler
from pipecat_getstream.media.timeline import FrameSplitter, PacingClock
from pipecat_getstream.stacks.base import AudioSink

#: Audio kept queued in the SDK track ahead of playout. Enough to ride out an event-loop
#: stall of this length; it costs nothing on interruption because interruption drops it.
DEFAULT_LEAD_SECS = 0.08

#: How long before the sink runs dry the held-back tail of an utterance is sent.
_TAIL_MARGIN_SECS = 0.01


class PacedAudioWriter:
    """Writes s16 audio to the SDK's audio track on a monotonic-clock timeline.

    Both stacks use it: Pipecat's output base does not pace, so ``write`` must return at
    real-time rate whatever the SDK's track does with the audio.

    ``write`` hands whole 20 ms frames to the track at once and returns when only
    ``lead_secs`` of audio remain queued, i.e. at real-time rate. A remainder shorter than a
    frame is held back; if no more audio follows before the track would reach it, it is sent
    padded with silence, so the end of an utterance is never held back by the 20 ms framing.

    Args:
        sink: The stack's audio sink (anything with async ``write``/``flush``).
        sample_rate: Sample rate of the audio passed to ``write``.
        channels: Channel count of the audio passed to ``write``.
        lead_secs: Audio to keep queued in the track.
        clock: Monotonic clock in seconds (tests pass a fake one).

    """

    def __init__(
        self,
        sink: AudioSink,
        sample_rate: int,
        channels: int = 1,
        lead_secs: float = DEFAULT_LEAD_SECS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._sink = sink
        self.sample_rate = sample_rate
        self.channels = channels
        self._pacing = PacingClock(lead_secs, clock)
        self._splitter = FrameSplitter(sample_rate, channels)
        self._bytes_per_sec = sample_rate * channels * 2
        self._wake = asyncio.Event()
        self._tail_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._resampler: StreamResampler | None = None
        self.frames_written = 0
        self.interruptions = 0

    @property
    def pacing(self) -> PacingClock:
        """The writer's send timeline."""
        return self._pacing

    async def write(self, audio: bytes, sample_rate: int, channels: int) -> None:
        """Queue ``audio`` for sending and wait until it is nearly due.

        Args:
            audio: Interleaved s16 audio of any length (an empty write is a no-op).
            sample_rate: Its sample rate; converted if it differs from the writer's.
            channels: Its channel count; converted if it differs from the writer's.

        """
        if not audio:
            return
        if (sample_rate, channels) != (self.sample_rate, self.channels):
            audio = self._convert(audio, sample_rate, channels)
        self._cancel_tail()
        async with self._lock:
            frames = self._splitter.push(audio)
            if frames:
                await self._send(frames)
        if self._splitter.pending_bytes:
            self._tail_task = asyncio.create_task(self._send_tail_when_due())
        wait = self._pacing.until_drained(self._pacing.lead_secs)
        if wait > 0:
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def interrupt(self) -> None:
        """Drop everything queued (here and in the track) and reset the timeline."""
        self._cancel_tail()
        async with self._lock:
            self._splitter.clear()
            await self._sink.flush()
            self._pacing.reset()
            self.interruptions += 1
        self._wake.set()

    async def drain_tail(self) -> None:
        """Send the held-back remainder now (end of stream)."""
        self._cancel_tail()
        async with self._lock:
            tail = self._splitter.take_tail()
            if tail:
                await self._send(tail)

    async def close(self) -> None:
        """Stop background work; queued audio is dropped."""
        self._cancel_tail()
        self._wake.set()

    async def _send(self, audio: bytes) -> None:
        await self._sink.write(audio)
        self.frames_written += len(audio) // self._splitter.frame_bytes
        self._pacing.add(len(audio) / self._bytes_per_sec)

    async def _send_tail_when_due(self) -> None:
        await asyncio.sleep(self._pacing.until_drained(_TAIL_MARGIN_SECS))
        # Past this point the tail is being sent: it must not be cancelled half-way.
        self._tail_task = None
        async with self._lock:
            tail = self._splitter.take_tail()
            if tail:
                await self._send(tail)

    def _cancel_tail(self) -> None:
        task, self._tail_task = self._tail_task, None
        if task is not None and not task.done():
            task.cancel()

    def _convert(self, audio: bytes, sample_rate: int, channels: int) -> bytes:
        usable = len(audio) - len(audio) % (2 * channels)
        if self._resampler is None:
            self._resampler = StreamResampler(self.sample_rate, self.channels)
        samples = np.frombuffer(audio[:usable], dtype=np.int16)
        return self._resampler.resample(samples, sample_rate, channels).tobytes()
