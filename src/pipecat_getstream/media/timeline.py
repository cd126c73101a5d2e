"""Audio timing and conversion: the clock-paced writer's timeline and input resampling.

The pacing logic is pure (it takes a clock), so it is unit-tested exactly with a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from pipecat_getstream.media.resample import StreamResampler

#: Length of one WebRTC audio frame; the SDK's track sends exactly this much per packet.
FRAME_SECS = 0.02


class PacingClock:
    """The send timeline of one audio output, anchored to a monotonic clock.

    ``end`` is the wall-clock instant (in ``clock()`` units) at which everything handed to the
    sink so far will have been played. Each write extends it by the written duration; the
    writer then waits until only ``lead_secs`` of audio remain ahead, so the timeline follows
    the clock rather than a sum of sleeps and never drifts. When the sink has run dry (the
    pipeline was idle), the timeline re-anchors at "now".

    Args:
        lead_secs: How much audio to keep queued in the sink, so that an event-loop hiccup
            shorter than this does not become an audible gap.
        clock: A monotonic clock returning seconds; ``time.monotonic`` by default.

    """

    def __init__(self, lead_secs: float = 0.08, clock: Callable[[], float] = time.monotonic):
        if lead_secs < 0:
            raise ValueError("lead_secs must be >= 0")
        self._lead = lead_secs
        self._clock = clock
        self._end: float | None = None
        self.reanchors = 0

    @property
    def lead_secs(self) -> float:
        """Audio kept queued ahead of the playout point, in seconds."""
        return self._lead

    def queued_secs(self) -> float:
        """Seconds of audio handed to the sink that have not been played yet."""
        if self._end is None:
            return 0.0
        return max(0.0, self._end - self._clock())

    def add(self, duration_secs: float) -> float:
        """Record ``duration_secs`` of audio handed to the sink.

        Args:
            duration_secs: Duration of the audio just written.

        Returns:
            How long the caller should wait (seconds, >= 0) before writing more, so that
            about ``lead_secs`` of audio stays queued.

        """
        now = self._clock()
        if self._end is None or self._end < now:
            if self._end is not None:
                self.reanchors += 1
            self._end = now
        self._end += duration_secs
        return max(0.0, self._end - self._lead - now)

    def until_drained(self, margin_secs: float = 0.0) -> float:
        """Seconds until the sink holds only ``margin_secs`` of audio (>= 0)."""
        if self._end is None:
            return 0.0
        return max(0.0, self._end - margin_secs - self._clock())

    def reset(self) -> None:
        """Forget the timeline (after an interruption flushed the sink)."""
        self._end = None


class FrameSplitter:
    """Cuts a byte stream of s16 audio into whole 20 ms frames, keeping the remainder.

    Args:
        sample_rate: Sample rate of the stream in Hz.
        channels: Interleaved channel count.

    """

    def __init__(self, sample_rate: int, channels: int = 1):
        self.frame_bytes = int(sample_rate * FRAME_SECS) * channels * 2
        self._pending = bytearray()

    @property
    def pending_bytes(self) -> int:
        """Bytes held back because they do not fill a whole frame yet."""
        return len(self._pending)

    def push(self, audio: bytes) -> bytes:
        """Add audio and return every whole frame now available (possibly ``b""``)."""
        self._pending += audio
        whole = len(self._pending) - len(self._pending) % self.frame_bytes
        if whole == 0:
            return b""
        out = bytes(self._pending[:whole])
        del self._pending[:whole]
        return out

    def take_tail(self) -> bytes:
        """Return the held-back remainder padded with silence to one whole frame."""
        if not self._pending:
            return b""
        usable = len(self._pending) - len(self._pending) % 2
        tail = bytes(self._pending[:usable]).ljust(self.frame_bytes, b"\x00")
        self._pending.clear()
        return tail

    def clear(self) -> None:
        """Drop the held-back remainder (interruption)."""
        self._pending.clear()


class ParticipantResampler:
    """Converts one participant's incoming audio to mono s16 at the pipeline's rate.

    Both SDK generations deliver 48 kHz mono s16 in 20 ms frames; a stateful FFmpeg resampler per
    participant (:class:`~pipecat_getstream.media.resample.StreamResampler`, which avoids a
    per-frame PyAV leak) keeps the waveform continuous across frames.

    Args:
        target_rate: The pipeline's input sample rate (``audio_in_sample_rate``).

    """

    def __init__(self, target_rate: int):
        self.target_rate = target_rate
        self._resampler = StreamResampler(target_rate, 1)

    def convert(self, samples: np.ndarray, sample_rate: int, channels: int) -> bytes:
        """Return the audio as mono s16 bytes at ``target_rate``.

        Args:
            samples: Interleaved ``int16`` samples as the stack delivers them.
            sample_rate: Their sample rate.
            channels: Their channel count.

        Returns:
            The converted audio (may be empty while the resampler fills its window).

        """
        if (sample_rate, channels) == (self.target_rate, 1):
            return np.asarray(samples, dtype=np.int16).tobytes()
        # A rate or layout change mid-stream starts a fresh filter graph inside.
        samples = np.asarray(samples, dtype=np.int16)
        return self._resampler.resample(samples, sample_rate, channels).tobytes()


class OutputNormalizer:
    """Brings every outgoing audio frame to the transport's rate and channel count.

    Pipecat's output base resamples with one stream resampler that refuses a sample rate
    change mid-stream (the frames are lost), and it concatenates raw bytes, so one frame of
    odd byte length would misalign every sample after it. Normalising each frame before the
    base sees it makes any rate, channel count or length safe.

    Args:
        sample_rate: The transport's output sample rate.
        channels: The transport's output channel count.

    """

    def __init__(self, sample_rate: int, channels: int):
        self.sample_rate = sample_rate
        self.channels = channels
        self._resampler: StreamResampler | None = None
        self._source: tuple[int, int] | None = None
        self.trimmed_bytes = 0

    def normalize(self, audio: bytes, sample_rate: int, channels: int) -> bytes:
        """Return ``audio`` as s16 at the output rate and channel count.

        Args:
            audio: Interleaved s16 bytes (a trailing partial sample is dropped and counted).
            sample_rate: Its sample rate.
            channels: Its channel count.

        Returns:
            The converted audio (unchanged when it already matches).

        """
        frame_bytes = 2 * max(1, channels)
        extra = len(audio) % frame_bytes
        if extra:
            self.trimmed_bytes += extra
            audio = audio[: len(audio) - extra]
        source = (sample_rate, channels)
        if source == (self.sample_rate, self.channels):
            return self._finish_previous() + audio if self._resampler else audio
        head = b""
        if self._source != source:
            head = self._finish_previous()
            self._resampler = StreamResampler(self.sample_rate, self.channels)
            self._source = source
        if not audio:
            return head
        assert self._resampler is not None
        samples = np.frombuffer(audio, dtype=np.int16)
        out = self._resampler.resample(samples, sample_rate, channels)
        return head + out.tobytes()

    def _finish_previous(self) -> bytes:
        resampler, self._resampler, self._source = self._resampler, None, None
        if resampler is None:
            return b""
        return resampler.flush().tobytes()
