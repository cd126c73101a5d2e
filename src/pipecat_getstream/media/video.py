"""Video: Pipecat images <-> ``av.VideoFrame`` (the stacks own the tracks)."""

from __future__ import annotations

import av
import numpy as np

#: Pipecat image formats we accept, mapped to PyAV pixel formats and channel counts.
PIXEL_FORMATS: dict[str, tuple[str, int]] = {
    "RGB": ("rgb24", 3),
    "RGBA": ("rgba", 4),
    "BGR": ("bgr24", 3),
    "L": ("gray", 1),
}


def image_to_video_frame(image: bytes, size: tuple[int, int], fmt: str | None) -> av.VideoFrame:
    """Convert a Pipecat image to a YUV 4:2:0 ``av.VideoFrame`` ready for the encoder.

    Odd dimensions are padded by one pixel (H.264 needs even sizes).

    Args:
        image: Packed pixel bytes.
        size: ``(width, height)``.
        fmt: ``"RGB"``, ``"RGBA"``, ``"BGR"`` or ``"L"``. ``None`` means RGB, or RGBA or L
            when the byte count says so (Pipecat 0.0.108's resize drops an image's format).

    Returns:
        The frame in ``yuv420p``.

    Raises:
        ValueError: On an unknown format, a non-positive size, or a byte count that does
            not match the size.

    """
    width, height = size
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {size}")
    name = (fmt or _format_by_size(len(image), width * height)).upper()
    if name not in PIXEL_FORMATS:
        raise ValueError(f"unsupported image format {fmt!r}; use one of {sorted(PIXEL_FORMATS)}")
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


def _format_by_size(nbytes: int, pixels: int) -> str:
    return {pixels * 4: "RGBA", pixels: "L"}.get(nbytes, "RGB")


def video_frame_to_rgb(frame: av.VideoFrame) -> tuple[bytes, tuple[int, int]]:
    """Convert a received ``av.VideoFrame`` to packed RGB bytes and its ``(width, height)``."""
    array = frame.to_ndarray(format="rgb24")
    return array.tobytes(), (frame.width, frame.height)
