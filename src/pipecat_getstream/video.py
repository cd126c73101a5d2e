"""Video: image <-> ``av.VideoFrame`` conversion and the bot's outgoing video track."""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

#: Pipecat image formats we accept, mapped to PyAV pixel formats and channel counts.
PIXEL_FORMATS: dict[str, tuple[str, int]] = {
    "RGB": ("rgb24", 3),
    "RGBA": ("rgba", 4),
    "BGR": ("bgr24", 3),
    "L": ("gray", 1),
}

_VIDEO_CLOCK_RATE = 90000


def image_to_video_frame(image: bytes, size: tuple[int, int], fmt: str | None) -> av.VideoFrame:
    """Convert a Pipecat image to a YUV 4:2:0 ``av.VideoFrame`` ready for the encoder.

    Odd dimensions are padded by one pixel (H.264 needs even sizes).

    Args:
        image: Packed pixel bytes.
        size: ``(width, height)``.
        fmt: ``"RGB"`` (default when ``None``), ``"RGBA"``, ``"BGR"`` or ``"L"``.

    Returns:
        The frame in ``yuv420p``.

    Raises:
        ValueError: On an unknown format, a non-positive size, or a byte count that does
            not match the size.

    """
    name = (fmt or "RGB").upper()
    if name not in PIXEL_FORMATS:
        raise ValueError(f"unsupported image format {fmt!r}; use one of {sorted(PIXEL_FORMATS)}")
    width, height = size
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {size}")
    pix_fmt, channels = PIXEL_FORMATS[name]
    expected = width * height * channels
    if len(image) != expected:
        raise ValueError(
            f"image of {len(image)} bytes does not match {width}x{height} {name} ({expected} bytes)"
        )
    array = np.frombuffer(image, dtype=np.uint8)
    shape = (height, width) if channels == 1 else (height, width, channels)
    array = array.reshape(shape)
    if width % 2 or height % 2:
        pad = ((0, height % 2), (0, width % 2)) + (((0, 0),) if channels > 1 else ())
        array = np.pad(array, pad, mode="edge")
    frame = av.VideoFrame.from_ndarray(array, format=pix_fmt)
    return frame.reformat(format="yuv420p")


def video_frame_to_rgb(frame: av.VideoFrame) -> tuple[bytes, tuple[int, int]]:
    """Convert a received ``av.VideoFrame`` to packed RGB bytes and its ``(width, height)``."""
    array = frame.to_ndarray(format="rgb24")
    return array.tobytes(), (frame.width, frame.height)


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
