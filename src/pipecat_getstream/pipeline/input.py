"""The input processor: participants' audio, video and custom events into the pipeline."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import numpy as np
from loguru import logger
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    StartFrame,
    UserAudioRawFrame,
    UserImageRawFrame,
    UserImageRequestFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_input import BaseInputTransport

from pipecat_getstream.call.client import GetstreamClient
from pipecat_getstream.errors import GetstreamError
from pipecat_getstream.media.audio_in import InputAudioFeed
from pipecat_getstream.media.dtx import GapFiller, gap_silence
from pipecat_getstream.media.mixer import ParticipantMixer, mixed_chunks
from pipecat_getstream.media.timeline import ParticipantResampler
from pipecat_getstream.media.video_in import CAMERA, SCREEN_VIDEO, VIDEO_SOURCES, VideoCaptures
from pipecat_getstream.params import GetstreamParams
from pipecat_getstream.pipeline.frames import InputTransportMessageFrame
from pipecat_getstream.stacks import VideoSource

if TYPE_CHECKING:
    from pipecat_getstream.transport import GetstreamTransport


class GetstreamInputTransport(BaseInputTransport):
    """Pushes participants' audio and their camera / screen share as ``UserImageRawFrame``.

    Audio is resampled per participant to ``audio_in_sample_rate`` (mono s16): one
    ``UserAudioRawFrame`` stream per participant, or with ``audio_in_user_tracks=False``
    one clock-paced ``InputAudioRawFrame`` mix (:mod:`pipecat_getstream.media.mixer`). Both are
    continuous across DTX gaps: the mix is paced by the clock, and a participant's own
    stream gets frames of silence where their packets pause
    (:mod:`pipecat_getstream.media.dtx`), so a VAD or STT sees the end of a turn on time.
    Either is handed to Pipecat's ``push_audio_frame`` from a bounded queue of
    ``audio_in_queue_frames`` (:class:`~pipecat_getstream.media.audio_in.InputAudioFeed`): if the
    pipeline falls behind, the oldest frames are dropped (counted, logged once). Video keeps
    only the newest frame per participant and source; which frames pass, and image
    requests, are :class:`~pipecat_getstream.media.video_in.VideoCaptures`' business.

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
        self._video_readers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._captures = VideoCaptures(params.video_in_sources)
        self._connected = False
        passthrough = getattr(params, "audio_in_passthrough", True)
        self._feed = InputAudioFeed(params.audio_in_queue_frames, observe=bool(passthrough))
        self._pump: asyncio.Task[None] | None = None
        self._mixer: ParticipantMixer | None = None
        self._mixing: asyncio.Task[None] | None = None
        self._gaps: GapFiller | None = None
        self._filling: asyncio.Task[None] | None = None
        self._heard: set[str] | None = None  # None: everyone; else capture_participant_audio

    @property
    def dropped_audio_frames(self) -> int:
        """Input audio frames dropped because the pipeline was slower than real time."""
        return self._feed.dropped

    @property
    def audio_feed(self) -> InputAudioFeed:
        """The bounded queue in front of Pipecat's input audio (diagnostics and tests)."""
        return self._feed

    async def start(self, frame: StartFrame) -> None:
        """Join the call and start delivering media (a failed join ends the pipeline)."""
        await super().start(frame)
        if self._connected:
            return
        try:
            await self._client.connect()
        except GetstreamError as exc:
            await self._transport.join_failed(self, exc)
            return
        self._connected = True
        await self.set_transport_ready(frame)
        if self._params.audio_in_enabled:
            self._pump = self.create_task(self._pump_audio(), name=f"{self}::audio-in")
            if not self._params.audio_in_user_tracks:
                self._mixer = ParticipantMixer(self.sample_rate)
                self._mixing = self.create_task(self._mix_audio(), name=f"{self}::audio-mix")
            else:
                self._gaps = GapFiller(self.sample_rate)
                self._filling = self.create_task(self._fill_gaps(), name=f"{self}::audio-gaps")
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

    async def push_frame(
        self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM
    ) -> None:
        """Push a frame; our audio leaving Pipecat's audio task frees room in the feed."""
        if isinstance(frame, InputAudioRawFrame):
            self._feed.consumed(frame.id)
        await super().push_frame(frame, direction)

    # ---------------------------------------------------------------- audio
    def capture_audio(self, participant_id: str) -> None:
        """Hear ``participant_id``; once any participant is chosen, only the chosen are heard."""
        if self._heard is None:
            self._heard = set()
            if self._mixer is not None:
                for other in self._mixer.participants:
                    if other != participant_id:
                        self._mixer.remove(other)
            if self._gaps is not None:
                for other in self._gaps.participants:
                    if other != participant_id:
                        self._gaps.forget(other)
        self._heard.add(participant_id)

    def _on_audio(self, user_id: str, samples: np.ndarray, sample_rate: int, channels: int) -> None:
        if self._heard is not None and user_id not in self._heard:
            return
        resampler = self._resamplers.get(user_id)
        if resampler is None:
            resampler = self._resamplers[user_id] = ParticipantResampler(self.sample_rate)
        audio = resampler.convert(samples, sample_rate, channels)
        if not audio:
            return
        if self._mixer is not None:
            self._mixer.add(user_id, np.frombuffer(audio, dtype=np.int16))
            return
        frame = UserAudioRawFrame(
            audio=audio, sample_rate=self.sample_rate, num_channels=1, user_id=user_id
        )
        if self._gaps is not None:
            self._gaps.heard(user_id, len(audio) // 2)
        self._queue(frame)

    def _queue(self, frame: InputAudioRawFrame) -> None:
        if self._feed.put(frame) and self._feed.dropped == 1:
            logger.warning(f"{self} pipeline is slower than real time; dropping oldest audio")

    def audio_track_ended(self, participant_id: str) -> None:
        """A participant unpublished their audio: no more silence is generated for them."""
        if self._gaps is not None:
            self._gaps.forget(participant_id)

    async def _fill_gaps(self) -> None:
        # Silence where a participant's packets pause (DTX): zeros, never reported as speech.
        gaps = self._gaps
        assert gaps is not None
        async for due in gap_silence(gaps):
            for user_id, frames in due:
                self._queue(
                    UserAudioRawFrame(
                        audio=bytes(2 * frames * gaps.frame_samples),
                        sample_rate=self.sample_rate,
                        num_channels=1,
                        user_id=user_id,
                    )
                )

    async def _pump_audio(self) -> None:
        while True:
            frame = await self._feed.get()
            await self.push_audio_frame(frame)

    async def _mix_audio(self) -> None:
        # One clock-paced stream, whoever talks: what one VAD and one STT need.
        assert self._mixer is not None
        async for chunk in mixed_chunks(self._mixer):
            frame = InputAudioRawFrame(audio=chunk, sample_rate=self.sample_rate, num_channels=1)
            self._queue(frame)

    # ---------------------------------------------------------------- video
    def _supports_video_in_source(self, video_source: str) -> bool:
        return video_source in VIDEO_SOURCES

    async def capture_video(
        self, participant_id: str, framerate: float | None, video_source: str = CAMERA
    ) -> None:
        """Pass on ``participant_id``'s ``video_source`` at up to ``framerate`` fps.

        ``None`` passes every frame, 0 only frames that answer image requests. Once any
        source is captured explicitly, sources not captured (nor listed in
        ``video_in_sources``) are no longer passed on.
        """
        self._captures.capture(participant_id, video_source, framerate)
        if video_source == SCREEN_VIDEO:
            await self._client.subscribe_screen_share()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Answer ``UserImageRequestFrame`` with the next image of the asked source."""
        await super().process_frame(frame, direction)
        if isinstance(frame, UserImageRequestFrame):
            await self.request_image(frame)

    async def request_image(self, frame: UserImageRequestFrame) -> None:
        """Queue an image request: the next frame of ``frame.video_source`` answers it."""
        source = frame.video_source or CAMERA
        error = None
        if not self._params.video_in_enabled:
            error = "video_in_enabled is False: no participant video is received"
        elif source not in VIDEO_SOURCES:
            error = f"unknown video source {source!r}; use one of {list(VIDEO_SOURCES)}"
        elif frame.user_id not in self._client.participants():
            error = f"{frame.user_id} is not in the call"
        elif source == CAMERA and (frame.user_id, CAMERA) not in self._video_readers:
            error = f"{frame.user_id} isn't sending camera video"
        if error is not None:
            await self._fail_image_requests([frame], error)
            return
        if source == SCREEN_VIDEO:
            await self._client.subscribe_screen_share()
        dropped = self._captures.add_request(frame.user_id, source, frame)
        await self._fail_image_requests(dropped, "too many image requests are waiting")

    async def _fail_image_requests(self, requests: list[UserImageRequestFrame], why: str) -> None:
        # Our own (Pipecat 1.x has a private equivalent, 0.0.108 none): a request no image
        # will answer completes with an error, or the function call that made it never ends.
        if not requests:
            return
        logger.warning(f"{self}: {why}")
        for request in requests:
            if request.result_callback is not None:
                await request.result_callback({"error": why})

    async def participant_left(self, participant_id: str) -> None:
        """Forget a departed participant's media state; answer their waiting requests."""
        self._resamplers.pop(participant_id, None)
        if self._mixer is not None:
            self._mixer.remove(participant_id)
        self.audio_track_ended(participant_id)
        requests = self._captures.forget(participant_id)
        await self._fail_image_requests(requests, f"{participant_id} left the call")

    def _on_video_track(self, user_id: str, source: VideoSource, video_source: str) -> None:
        key = (user_id, video_source)
        old = self._video_readers.pop(key, None)
        if old is not None:
            old.cancel()
        self._video_readers[key] = self.create_task(
            self._read_video(user_id, source, video_source),
            name=f"{self}::{video_source}-{user_id}",
        )

    async def _read_video(self, user_id: str, source: VideoSource, video_source: str) -> None:
        # Each stack hands out the newest frame on every read, so a slow pipeline skips
        # frames instead of queueing them.
        while (frame := await source.recv()) is not None:
            due, request = self._captures.sample(user_id, video_source)
            if not due:
                continue
            image, size = await asyncio.to_thread(source.to_rgb, frame)
            image_frame = UserImageRawFrame(
                user_id=user_id,
                image=image,
                size=size,
                format="RGB",
                text=request.text if request is not None else None,
                append_to_context=request.append_to_context if request is not None else None,
                request=request,
            )
            image_frame.transport_source = video_source
            await self.push_video_frame(image_frame)
        if self._video_readers.get((user_id, video_source)) is asyncio.current_task():
            del self._video_readers[(user_id, video_source)]
        requests = self._captures.take_requests(user_id, video_source)
        await self._fail_image_requests(requests, f"{user_id} stopped sending {video_source}")

    # ------------------------------------------------------------- teardown
    async def _teardown(self) -> None:
        self._client.set_audio_handler(None)
        self._client.set_video_handler(None)
        for task in (self._mixing, self._filling, self._pump):
            if task is not None:
                await self.cancel_task(task)
        self._mixing = self._filling = self._pump = None
        if self._mixer is not None:
            self._mixer.clear()
        if self._gaps is not None:
            self._gaps.clear()
        self._feed.clear()
        for task in list(self._video_readers.values()):
            await self.cancel_task(task)
        self._video_readers.clear()
        await self._fail_image_requests(self._captures.clear(), "the bot left the call")
        if self.dropped_audio_frames:
            logger.info(f"{self} dropped {self.dropped_audio_frames} input audio frames in all")
        if self._connected:
            self._connected = False
            await self._client.disconnect()
