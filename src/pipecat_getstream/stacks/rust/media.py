"""The bot's ``getstream_rtc`` tracks and participants' video, for the 7.x stack.

The Rust core encodes, packetises and paces in its own threads: Python hands it whole
PCM chunks and I420 images, and reads decoded PCM and I420 frames back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import av
import getstream_rtc
import numpy as np
from loguru import logger

from pipecat_getstream.errors import GetstreamConnectionError
from pipecat_getstream.stacks.base import VideoSpec


class RustAudioSink:
    """The bot's audio straight into a ``getstream_rtc.LocalAudioTrack``.

    The track queues PCM and plays it out at real time in Rust (no Python forwarding
    loop); the transport's writer only decides how far ahead to write.

    Args:
        track: The published track.
        sample_rate: Rate of every write (the first write fixes the track's rate).
        channels: Channel count of every write.

    """

    def __init__(self, track: getstream_rtc.LocalAudioTrack, sample_rate: int, channels: int):
        self.track = track
        self.sample_rate = sample_rate
        self.channels = channels
        self._stopped = False
        self.overflows = 0

    async def write(self, audio: bytes) -> None:
        """Queue interleaved s16 audio in the Rust track."""
        if self._stopped or not audio:
            return
        samples = np.frombuffer(audio, dtype=np.int16)
        try:
            await self.track.write_pcm(samples, self.sample_rate, self.channels)
        except getstream_rtc.PcmQueueOverflowError:
            # The oldest audio was dropped, the newest kept: log once, keep going.
            self.overflows += 1
            if self.overflows == 1:
                logger.warning("the SDK's audio queue overflowed; its oldest audio was dropped")
        except getstream_rtc.IllegalStateError:
            self._stopped = True  # unpublished (left, or the permission was revoked)

    async def flush(self) -> None:
        """Drop everything queued in the track, including a write in progress."""
        if not self._stopped:
            self.track.flush()

    def stop(self) -> None:
        """Stop writing (the stack unpublishes the track when it leaves)."""
        self._stopped = True
        with contextlib.suppress(Exception):
            self.track.flush()


def _black_i420(width: int, height: int) -> np.ndarray:
    width, height = width + width % 2, height + height % 2
    planes = np.empty(width * height * 3 // 2, dtype=np.uint8)
    planes[: width * height] = 16
    planes[width * height :] = 128
    return planes


class RustVideoSink:
    """The bot's camera: the latest image written to a ``LocalVideoTrack`` at a fixed rate.

    Args:
        track: The published track (VP8 or VP9, as the SFU accepted).
        spec: Initial size and frame rate.

    """

    def __init__(self, track: getstream_rtc.LocalVideoTrack, spec: VideoSpec):
        self.track = track
        self._framerate = spec.framerate
        self._size = (spec.width + spec.width % 2, spec.height + spec.height % 2)
        self._planes = _black_i420(spec.width, spec.height)
        self._task: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(
            self._run(), name="getstream-bot-camera"
        )
        self.images = 0
        self.frames_sent = 0

    def set_frame(self, frame: av.VideoFrame) -> None:
        """Make ``frame`` the image sent from now on."""
        yuv = frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
        self._planes = np.ascontiguousarray(yuv.to_ndarray()).reshape(-1)
        self._size = (yuv.width, yuv.height)
        self.images += 1

    def stop(self) -> None:
        """Stop sending."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    async def _run(self) -> None:
        start = time.monotonic()
        count = 0
        while True:
            width, height = self._size
            try:
                await self.track.write_i420_at(
                    self._planes, width, height, time.monotonic() - start
                )
                self.frames_sent += 1
            except getstream_rtc.IllegalStateError:
                return  # unpublished
            except getstream_rtc.RustError as exc:
                logger.warning(f"the SDK refused a video frame: {exc}")
            count += 1
            delay = start + count / self._framerate - time.monotonic()
            await asyncio.sleep(max(0.0, delay))


async def publish_camera(call: getstream_rtc.Call, vp8_only: bool) -> getstream_rtc.LocalVideoTrack:
    """Publish the bot's camera in VP9, else VP8 (whichever the SFU takes).

    VP9 is GetStream's default camera codec; an SFU that advertises only VP8 refuses it,
    and VP8 is tried. With a screen share (VP8 only) in the same connection the SDK offers
    every later video section the codec negotiated first, so ``vp8_only`` skips VP9.

    Raises:
        GetstreamConnectionError: If the SFU accepts neither.

    """
    failure: Exception | None = None
    makers = [getstream_rtc.LocalVideoTrack.vp8]
    if not vp8_only:
        makers.insert(0, getstream_rtc.LocalVideoTrack.vp9)
    for make in makers:
        track = make()
        try:
            await call.publish_video(track)
            return track
        except getstream_rtc.RtcError as exc:
            failure = exc
            logger.info(f"the SFU refused {make.__name__} video: {exc}")
            with contextlib.suppress(Exception):
                await call.stop_publish_video(track)
    raise GetstreamConnectionError(f"the SFU accepted neither VP9 nor VP8 video: {failure}")


def i420_to_rgb(data: np.ndarray, width: int, height: int) -> bytes:
    """Convert one I420 image (Y, then U, then V; chroma at half size) to packed RGB bytes."""
    planes = np.asarray(data, dtype=np.uint8).reshape(-1)
    if width % 2 == 0 and height % 2 == 0:
        frame = av.VideoFrame.from_ndarray(planes.reshape(height * 3 // 2, width), "yuv420p")
        return bytes(frame.to_ndarray(format="rgb24").tobytes())
    cw, ch = (width + 1) // 2, (height + 1) // 2
    luma = planes[: width * height].reshape(height, width).astype(np.float32) - 16.0
    u_plane = planes[width * height : width * height + cw * ch].reshape(ch, cw)
    v_plane = planes[width * height + cw * ch : width * height + 2 * cw * ch].reshape(ch, cw)
    u = u_plane.repeat(2, 0).repeat(2, 1)[:height, :width].astype(np.float32) - 128.0
    v = v_plane.repeat(2, 0).repeat(2, 1)[:height, :width].astype(np.float32) - 128.0
    rgb = np.stack(
        (
            1.164 * luma + 1.596 * v,
            1.164 * luma - 0.392 * u - 0.813 * v,
            1.164 * luma + 2.017 * u,
        ),
        axis=-1,
    )
    return bytes(np.clip(rgb, 0, 255).astype(np.uint8).tobytes())


class RustVideoSource:
    """A participant's camera from a ``RemoteTrack`` (decoded I420; slow readers skip).

    Holding the source keeps the track subscribed.

    Args:
        track: The remote video track.

    """

    def __init__(self, track: getstream_rtc.RemoteTrack):
        self._track = track
        self._frames = track.video_frames()

    async def recv(self) -> Any | None:
        """The next decoded frame, or ``None`` when the track ended."""
        try:
            return await self._frames.__anext__()
        except StopAsyncIteration:
            return None

    def to_rgb(self, frame: Any) -> tuple[bytes, tuple[int, int]]:
        """Packed RGB bytes and ``(width, height)`` of a frame from :meth:`recv`."""
        return i420_to_rgb(frame.data, frame.width, frame.height), (frame.width, frame.height)
