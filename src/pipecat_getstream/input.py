"""The input processor: participants' audio, video and custom events into the pipeline."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from aiortc.mediastreams import MediaStreamError
from getstream.video.rtc.track_util import PcmData
from loguru import logger
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    StartFrame,
    UserAudioRawFrame,
    UserImageRawFrame,
)
from pipecat.transports.base_input import BaseInputTransport

from pipecat_getstream.audio import ParticipantResampler
from pipecat_getstream.client import GetstreamClient
from pipecat_getstream.frames import InputTransportMessageFrame
from pipecat_getstream.params import GetstreamParams
from pipecat_getstream.video import video_frame_to_rgb

if TYPE_CHECKING:
    from pipecat_getstream.transport import GetstreamTransport


class GetstreamInputTransport(BaseInputTransport):
    """Pushes each participant's audio as ``UserAudioRawFrame`` and camera as ``UserImageRawFrame``.

    Audio is resampled per participant to ``audio_in_sample_rate`` (mono s16); the
    pipeline's input audio queue is kept to ``audio_in_queue_frames``: if the pipeline falls
    behind, the oldest frames are dropped (counted, logged once). Video keeps only the
    newest frame per participant.

    Args:
        transport: The owning transport.
        client: The shared call client.
        params: Transport parameters.
        **kwargs: Passed to ``BaseInputTransport``.

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
        self._resamplers: dict[str, ParticipantResampler] = {}
        self._video_readers: dict[str, asyncio.Task[None]] = {}
        self._captures: dict[str, float | None] = {}  # participant -> max fps (None: all)
        self._last_image_at: dict[str, float] = {}
        self._connected = False
        self.dropped_audio_frames = 0

    async def start(self, frame: StartFrame) -> None:
        """Join the call and start delivering media."""
        await super().start(frame)
        if self._connected:
            return
        await self._client.connect()
        self._connected = True
        await self.set_transport_ready(frame)
        if self._params.audio_in_enabled:
            self._client.set_audio_handler(self._on_audio)
        if self._params.video_in_enabled:
            self._client.set_video_handler(self._on_video_track)

    async def stop(self, frame: EndFrame) -> None:
        """Stop media and release the call."""
        await super().stop(frame)
        await self._teardown()

    async def cancel(self, frame: CancelFrame) -> None:
        """Stop media at once and release the call."""
        await super().cancel(frame)
        await self._teardown()

    async def cleanup(self) -> None:
        """Release everything (idempotent)."""
        await super().cleanup()
        await self._teardown()

    async def push_app_message(self, event: dict[str, Any]) -> None:
        """Push a received custom event downstream as an ``InputTransportMessageFrame``."""
        await self.push_frame(InputTransportMessageFrame(message=event))

    # ---------------------------------------------------------------- audio
    def _on_audio(self, pcm: PcmData) -> None:
        participant = getattr(pcm, "participant", None)
        user_id = getattr(participant, "user_id", None)
        queue = self._pipeline_audio_queue()
        if not user_id or queue is None or not self._params.audio_in_enabled:
            return
        resampler = self._resamplers.get(user_id)
        if resampler is None:
            resampler = self._resamplers[user_id] = ParticipantResampler(self.sample_rate)
        audio = resampler.convert(pcm)
        if not audio:
            return
        frame = UserAudioRawFrame(
            audio=audio, sample_rate=self.sample_rate, num_channels=1, user_id=user_id
        )
        # Pipecat's own input queue is unbounded; keep it bounded here. When the pipeline's
        # audio task (VAD, filters) falls behind, the oldest audio is dropped: newest wins.
        while queue.qsize() >= self._params.audio_in_queue_frames:
            queue.get_nowait()
            queue.task_done()
            self.dropped_audio_frames += 1
            if self.dropped_audio_frames == 1:
                logger.warning(f"{self} pipeline is slower than real time; dropping oldest audio")
        queue.put_nowait(frame)

    def _pipeline_audio_queue(self) -> asyncio.Queue[Any] | None:
        queue = getattr(self, "_audio_in_queue", None)
        return queue if isinstance(queue, asyncio.Queue) and not self._paused_input() else None

    def _paused_input(self) -> bool:
        return bool(getattr(self, "_paused", False))

    # ---------------------------------------------------------------- video
    def capture(self, participant_id: str, framerate: float | None) -> None:
        """Pass on ``participant_id``'s camera at up to ``framerate`` fps (``None``: all).

        Once any participant is captured explicitly, only captured participants' video is
        pushed; until then, every participant's video is.
        """
        self._captures[participant_id] = framerate if framerate and framerate > 0 else None

    def _image_due(self, user_id: str) -> bool:
        if not self._captures:
            return True
        if user_id not in self._captures:
            return False
        rate = self._captures[user_id]
        now = time.monotonic()
        if rate is not None and now - self._last_image_at.get(user_id, 0.0) < 1.0 / rate:
            return False
        self._last_image_at[user_id] = now
        return True

    def _on_video_track(self, user_id: str, track: Any) -> None:
        old = self._video_readers.pop(user_id, None)
        if old is not None:
            old.cancel()
        self._video_readers[user_id] = self.create_task(
            self._read_video(user_id, track), name=f"{self}::video-{user_id}"
        )

    async def _read_video(self, user_id: str, track: Any) -> None:
        # The SDK hands out an unbuffered relay: each recv() returns the newest frame, so a
        # slow pipeline skips frames instead of queueing them.
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not self._image_due(user_id):
                continue
            image, size = await asyncio.to_thread(video_frame_to_rgb, frame)
            await self.push_video_frame(
                UserImageRawFrame(user_id=user_id, image=image, size=size, format="RGB")
            )

    # ------------------------------------------------------------- teardown
    async def _teardown(self) -> None:
        self._client.set_audio_handler(None)
        self._client.set_video_handler(None)
        for task in list(self._video_readers.values()):
            await self.cancel_task(task)
        self._video_readers.clear()
        if self.dropped_audio_frames:
            logger.info(f"{self} dropped {self.dropped_audio_frames} input audio frames in all")
        if self._connected:
            self._connected = False
            await self._client.disconnect()
