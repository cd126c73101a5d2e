"""The bot's aiortc tracks (audio sink, paced camera) and participants' video sources."""

from __future__ import annotations

import asyncio
import fractions
import time
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from pipecat_getstream.media.video import video_frame_to_rgb
from pipecat_getstream.stacks.aiortc.opus_feed import OPUS_RATE, Feed48k
from pipecat_getstream.stacks.aiortc.tracks import PcmAudioTrack

_VIDEO_CLOCK_RATE = 90000


class AiortcAudioSink:
    """The bot's audio into a :class:`~pipecat_getstream.stacks.aiortc.tracks.PcmAudioTrack`.

    The track runs at 48 kHz, which aiortc's Opus encoder takes without holding each frame
    back 20 ms. The output processor writes at 48 kHz on this stack (Pipecat resamples the
    bot's audio once, straight to it), and the samples go to the track as they are; audio
    at another rate is converted by
    :class:`~pipecat_getstream.stacks.aiortc.opus_feed.Feed48k`.

    Args:
        sample_rate: The rate of the audio written (the pipeline's output rate).
        channels: Its channel count.

    """

    def __init__(self, sample_rate: int, channels: int):
        self.sample_rate = sample_rate
        self.channels = channels
        self._feed = Feed48k(sample_rate, channels) if sample_rate != OPUS_RATE else None
        self.track = PcmAudioTrack(channels, OPUS_RATE)

    async def write(self, audio: bytes) -> None:
        """Queue interleaved s16 audio (a partial 20 ms frame waits for the rest)."""
        samples = np.frombuffer(audio, dtype=np.int16)
        if self._feed is not None:
            samples = self._feed.convert_samples(samples)
        self.track.write(samples)

    async def flush(self) -> None:
        """Drop the audio queued in the track (and the few samples the converter holds)."""
        self.track.flush()
        if self._feed is not None:
            self._feed.reset()

    def stop(self) -> None:
        """Stop the track."""
        self.track.stop()


class ImageVideoTrack(MediaStreamTrack):
    """The bot's camera: sends the latest image at a fixed frame rate.

    The last image is held (re-sent) between new ones; before the first image a black frame
    of the configured size is sent. Frame times follow a monotonic clock, so the rate does
    not drift.

    Args:
        width: Initial width (until the first image arrives).
        height: Initial height.
        framerate: Frames per second.

    """

    kind = "video"

    def __init__(self, width: int, height: int, framerate: int):
        super().__init__()
        self._framerate = framerate
        black = np.zeros((height + height % 2, width + width % 2, 3), dtype=np.uint8)
        self._planes = (
            av.VideoFrame.from_ndarray(black, format="rgb24")
            .reformat(format="yuv420p")
            .to_ndarray()
        )
        self._start: float | None = None
        self._count = 0
        self.images = 0

    def set_frame(self, frame: av.VideoFrame) -> None:
        """Make ``frame`` the image to send from now on."""
        self._planes = frame.reformat(format="yuv420p").to_ndarray()
        self.images += 1

    async def recv(self) -> av.VideoFrame:
        """Return the next frame when it is due (aiortc calls this in a loop)."""
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            self._count += 1
            due = self._start + self._count / self._framerate
            if due > now:
                await asyncio.sleep(due - now)
        # A new frame object each time: relays may still hold the previous one.
        frame = av.VideoFrame.from_ndarray(self._planes, format="yuv420p")
        frame.pts = int(self._count * _VIDEO_CLOCK_RATE / self._framerate)
        frame.time_base = fractions.Fraction(1, _VIDEO_CLOCK_RATE)
        return frame


class AiortcVideoSource:
    """A participant's camera as the SDK hands it out: an unbuffered aiortc relay.

    Each ``recv()`` returns the newest frame, so a slow reader skips frames.

    Args:
        track: The relay track from ``subscriber_pc.add_track_subscriber``.

    """

    def __init__(self, track: Any):
        self._track = track

    async def recv(self) -> av.VideoFrame | None:
        """The next frame, or ``None`` once the track ended."""
        try:
            frame: av.VideoFrame = await self._track.recv()
        except MediaStreamError:
            return None
        return frame

    def to_rgb(self, frame: av.VideoFrame) -> tuple[bytes, tuple[int, int]]:
        """Packed RGB bytes and the frame's size."""
        return video_frame_to_rgb(frame)
