"""The output processor: the bot's audio, video and messages into the call."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from loguru import logger
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    OutputAudioRawFrame,
    OutputImageRawFrame,
    StartFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.utils.utils import obj_id

from pipecat_getstream.call.client import GetstreamClient
from pipecat_getstream.errors import GetstreamError, GetstreamNotConnectedError
from pipecat_getstream.media.audio_out import PacedAudioWriter
from pipecat_getstream.media.timeline import OutputNormalizer
from pipecat_getstream.media.video import image_to_video_frame
from pipecat_getstream.params import GetstreamParams
from pipecat_getstream.pipeline.frames import (
    InterruptionFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
)
from pipecat_getstream.stacks import AudioSink, AudioSpec, VideoSink, VideoSpec
from pipecat_getstream.stacks.base import SCREEN_VIDEO

if TYPE_CHECKING:
    from pipecat_getstream.transport import GetstreamTransport

#: Opus's rate: both SDK generations encode the bot's audio at it (and resample to it).
_OPUS_RATE = 48000

#: Images larger than this are converted on a worker thread to keep the event loop free.
_THREAD_CONVERT_PIXELS = 640 * 480


class GetstreamOutputTransport(BaseOutputTransport):
    """Sends the bot's audio (clock-paced), video and transport messages to the call.

    On ``InterruptionFrame`` the audio queued in the SDK track is dropped and the pacing
    clock reset, so participants hear silence within one 20 ms frame. Which SDK track
    receives the audio and images is the stack's business
    (:mod:`pipecat_getstream.stacks`). The output runs at 48 kHz, the rate the SDK's
    track encodes, whatever ``audio_out_sample_rate`` says (unless an ``audio_out_filter``
    is set): Pipecat then resamples the bot's audio once, straight to the rate that is
    sent, and neither the transport nor the SDK resamples it again.

    Args:
        transport: The owning transport.
        client: The shared call client.
        params: Transport parameters.
        **kwargs: Passed to ``BaseOutputTransport``.

    """

    def __init__(
        self,
        transport: GetstreamTransport,
        client: GetstreamClient,
        params: GetstreamParams,
        **kwargs: Any,
    ):
        super().__init__(params, **kwargs)
        self._transport = transport
        self._client = client
        self._params: GetstreamParams = params
        self._writer: PacedAudioWriter | None = None
        self._normalizer: OutputNormalizer | None = None
        self._audio_sink: AudioSink | None = None
        self._video_sink: VideoSink | None = None
        self._screen_sink: VideoSink | None = None
        self._stale_before = -1
        self._connected = False
        self._said_not_connected = False
        self.bad_images = 0

    async def start(self, frame: StartFrame) -> None:
        """Join the call, publish the bot's tracks and start sending.

        A failed join is reported (once per transport) as a fatal error that ends the
        pipeline; nothing is published then.
        """
        await super().start(frame)
        if self._connected:
            return
        try:
            await self._client.connect()
        except GetstreamError as exc:
            await self._transport.join_failed(self, exc)
            return
        self._connected = True
        self._write_at_track_rate()
        channels = self._params.audio_out_channels
        audio = AudioSpec(self.sample_rate, channels) if self._params.audio_out_enabled else None
        video = (
            VideoSpec(
                self._params.video_out_width,
                self._params.video_out_height,
                self._params.video_out_framerate,
            )
            if self._params.video_out_enabled
            else None
        )
        self._audio_sink, self._video_sink = await self._client.publish(audio=audio, video=video)
        if video is not None and SCREEN_VIDEO in self._params.video_out_destinations:
            try:
                self._screen_sink = await self._client.publish_screen_share(video)
            except Exception as exc:  # the camera and audio still work without it
                logger.error(f"{self} could not publish a screen share: {exc}")
        if self._audio_sink is not None:
            self._writer = PacedAudioWriter(
                self._audio_sink,
                self.sample_rate,
                channels,
                lead_secs=self._params.audio_out_lead_secs,
            )
            self._normalizer = OutputNormalizer(self.sample_rate, channels)
        await self.set_transport_ready(frame)

    def _write_at_track_rate(self) -> None:
        # Both SDKs' tracks encode 48 kHz, so Pipecat's media sender resamples the bot's
        # audio straight to it, once (not to audio_out_sample_rate and then again in the
        # transport or the SDK). An output filter was started at the configured rate: it
        # keeps it. Pipecat 0.0.108 has no audio_out_filter.
        if getattr(self._params, "audio_out_filter", None):
            return
        self._sample_rate = _OPUS_RATE
        chunk_10ms = _OPUS_RATE // 100 * self._params.audio_out_channels * 2
        self._audio_chunk_size = chunk_10ms * self._params.audio_out_10ms_chunks

    async def stop(self, frame: EndFrame) -> None:
        """Send what is left, then release the call."""
        await super().stop(frame)
        if self._writer is not None:
            await self._writer.drain_tail()
        await self._teardown()

    async def cancel(self, frame: CancelFrame) -> None:
        """Stop at once and release the call."""
        await super().cancel(frame)
        await self._teardown()

    async def cleanup(self) -> None:
        """Release everything (idempotent)."""
        await super().cleanup()
        await self._teardown()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Flush the SDK's audio at once on interruption, then let the base handle it."""
        if isinstance(frame, OutputAudioRawFrame) and self._normalizer is not None:
            self._normalize(frame)
        elif isinstance(frame, InterruptionFrame) and self._writer is not None:
            # Every audio chunk that exists now predates the interruption.
            self._stale_before = obj_id()
            await self._writer.interrupt()
        elif (
            isinstance(frame, OutputImageRawFrame)
            and frame.transport_destination == SCREEN_VIDEO
            and direction == FrameDirection.DOWNSTREAM
        ):
            # Straight to the screen-share track, at the image's own size: Pipecat's
            # sender would scale it to the camera's size and drop its destination.
            await self.write_video_frame(frame)
            return
        await super().process_frame(frame, direction)

    def _normalize(self, frame: OutputAudioRawFrame) -> None:
        assert self._normalizer is not None
        before = self._normalizer.trimmed_bytes
        audio = self._normalizer.normalize(frame.audio, frame.sample_rate, frame.num_channels)
        if audio is not frame.audio:
            frame.audio = audio
            frame.sample_rate = self._normalizer.sample_rate
            frame.num_channels = self._normalizer.channels
            frame.num_frames = len(audio) // (2 * frame.num_channels)
        if before == 0 and self._normalizer.trimmed_bytes:
            logger.warning(f"{self} audio frames of odd byte length: trailing bytes dropped")

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        """Queue a chunk in the SDK track; returns at real-time rate."""
        writer = self._writer
        if writer is None:
            return False
        if frame.id < self._stale_before and getattr(frame, "interruptible", True):
            return True  # chunked before an interruption: dropped on purpose
        await writer.write(frame.audio, frame.sample_rate, frame.num_channels)
        return True

    async def write_video_frame(self, frame: OutputImageRawFrame) -> bool:
        """Make ``frame`` the image the bot's camera (or screen share) sends.

        Frames with ``transport_destination="screenVideo"`` go to the screen-share track
        (``video_out_destinations=["screenVideo"]``), at their own size; the others to the
        camera, scaled by Pipecat to ``video_out_width`` x ``video_out_height``.
        """
        screen = frame.transport_destination == SCREEN_VIDEO
        sink = self._screen_sink if screen else self._video_sink
        if sink is None:
            return False
        width, height = frame.size
        try:
            if width * height > _THREAD_CONVERT_PIXELS:
                video = await asyncio.to_thread(
                    image_to_video_frame, frame.image, frame.size, frame.format
                )
            else:
                video = image_to_video_frame(frame.image, frame.size, frame.format)
        except ValueError as exc:
            self.bad_images += 1
            if self.bad_images == 1:
                logger.warning(f"{self} skipping an image that cannot be sent: {exc}")
            return False
        sink.set_frame(video)
        return True

    async def send_message(
        self, frame: OutputTransportMessageFrame | OutputTransportMessageUrgentFrame
    ) -> None:
        """Send a Pipecat transport message as a GetStream custom event.

        Messages that cannot be sent are dropped with a warning; while the bot is not in
        the call, once until it is again (none after a failed join, already reported).
        """
        message = frame.message
        payload = message if isinstance(message, dict) else {"message": message}
        try:
            await self._client.send_custom_event(payload)
            self._said_not_connected = False
        except GetstreamNotConnectedError as exc:
            if not self._said_not_connected and self._client.join_error is None:
                logger.warning(f"{self} could not send a transport message: {exc}")
            self._said_not_connected = True
        except (ValueError, GetstreamError) as exc:
            logger.warning(f"{self} could not send a transport message: {exc}")

    async def push_frame(
        self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM
    ) -> None:
        """Push a frame on; with ``closed_captions``, played text becomes captions."""
        captions = self._transport.closed_captions
        if captions is not None and direction == FrameDirection.DOWNSTREAM:
            captions.observe(frame)
        await super().push_frame(frame, direction)

    async def _teardown(self) -> None:
        captions = self._transport.closed_captions
        if captions is not None:
            await captions.close()
        if self._writer is not None:
            await self._writer.close()
        sink, self._audio_sink = self._audio_sink, None
        if sink is not None:
            sink.stop()
        camera, self._video_sink = self._video_sink, None
        if camera is not None:
            camera.stop()
        screen, self._screen_sink = self._screen_sink, None
        if screen is not None:
            screen.stop()
        if self._connected:
            self._connected = False
            await self._client.disconnect()
