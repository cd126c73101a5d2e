"""A bot under test: a real GetstreamTransport in a real Pipecat pipeline, with a probe."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from typing import Any

import numpy as np
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    OutputAudioRawFrame,
    UserAudioRawFrame,
    UserImageRawFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from pipecat_getstream import GetstreamTransport
from pipecat_getstream.pipeline.frames import InputTransportMessageFrame
from pipecat_getstream.transport import EVENTS, GetstreamParams


class Probe(FrameProcessor):
    """Records what the input transport delivers; passes every frame on."""

    def __init__(self, keep_audio: bool = True) -> None:
        super().__init__()
        self.keep_audio = keep_audio
        self.audio_bytes: dict[str, int] = defaultdict(int)
        self.audio: dict[str, bytearray] = defaultdict(bytearray)
        self.audio_rates: set[int] = set()
        self.first_audio_at: dict[str, float] = {}
        self.images: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        self.messages: list[Any] = []
        # The mixed stream (audio_in_user_tracks=False): (arrival time, samples) per frame.
        self.mixed: list[tuple[float, np.ndarray]] = []
        # Every image: (user_id, transport_source, size, the request it answers or None).
        self.image_log: list[tuple[str, str | None, tuple[int, int], Any]] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, UserAudioRawFrame):
            self.audio_bytes[frame.user_id] += len(frame.audio)
            if self.keep_audio:
                self.audio[frame.user_id] += frame.audio
            self.audio_rates.add(frame.sample_rate)
            self.first_audio_at.setdefault(frame.user_id, time.monotonic())
        elif isinstance(frame, InputAudioRawFrame):
            self.mixed.append((time.monotonic(), np.frombuffer(frame.audio, dtype=np.int16)))
            self.audio_rates.add(frame.sample_rate)
        elif isinstance(frame, UserImageRawFrame):
            self.images[frame.user_id].append((*frame.size, frame.format or ""))
            self.image_log.append(
                (frame.user_id, frame.transport_source, frame.size, frame.request)
            )
        elif isinstance(frame, InputTransportMessageFrame):
            self.messages.append(frame.message)
        await self.push_frame(frame, direction)

    def samples(self, user_id: str) -> np.ndarray:
        return np.frombuffer(bytes(self.audio[user_id]), dtype=np.int16)


class Bot:
    """Runs ``transport.input() -> probe -> transport.output()`` and records every event."""

    def __init__(
        self,
        server: Any,
        call_id: str,
        user_id: str = "pipecat-bot",
        keep_audio: bool = True,
        transport_options: dict[str, Any] | None = None,
        **params: Any,
    ):
        # transport_options: keyword arguments of GetstreamTransport (a token replaces the
        # secret).
        options = dict(transport_options or {})
        self.transport = GetstreamTransport(
            api_key=server.api_key,
            api_secret=None if options.get("token") else server.api_secret,
            call_type="default",
            call_id=call_id,
            user_id=user_id,
            params=GetstreamParams(**params),
            base_url=server.base_url,
            **options,
        )
        self.probe = Probe(keep_audio)
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self.connected = asyncio.Event()
        for name in EVENTS:
            self._record(name)
        self.task = PipelineTask(
            Pipeline([self.transport.input(), self.probe, self.transport.output()]),
            params=PipelineParams(enable_metrics=True),
            # A listening bot produces no speaking frames; Pipecat's 5-minute idle cancel
            # would end long soak runs.
            idle_timeout_secs=None,
        )
        self._runner_task: asyncio.Task[None] | None = None

    def _record(self, name: str) -> None:
        async def handler(transport: GetstreamTransport, *args: Any) -> None:
            self.events.append((name, args))
            if name == "on_connected":
                self.connected.set()

        self.transport.event_handler(name)(handler)

    def fired(self, name: str) -> list[tuple[Any, ...]]:
        return [args for n, args in self.events if n == name]

    async def start(self, timeout: float = 20.0) -> Bot:
        runner = PipelineRunner(handle_sigint=False)
        self._runner_task = asyncio.create_task(runner.run(self.task))
        await asyncio.wait_for(self.connected.wait(), timeout)
        return self

    async def say(self, audio: np.ndarray, rate: int = 16000) -> None:
        await self.task.queue_frame(OutputAudioRawFrame(audio.tobytes(), rate, 1))

    async def stop(self, timeout: float = 20.0) -> None:
        from pipecat.frames.frames import EndFrame

        if self._runner_task is None or self._runner_task.done():
            return
        await self.task.queue_frame(EndFrame())
        await asyncio.wait_for(self._runner_task, timeout)

    async def wait_finished(self, timeout: float) -> None:
        assert self._runner_task is not None
        await asyncio.wait_for(asyncio.shield(self._runner_task), timeout)

    async def __aenter__(self) -> Bot:
        return await self.start()

    async def end(self, timeout: float = 20.0) -> str | None:
        """End the pipeline for sure, within about twice ``timeout``; never raises.

        An EndFrame first; if the pipeline has not ended by ``timeout``, the task is
        cancelled (a pipeline left running makes the event loop's shutdown hang).

        Returns:
            ``None`` on a clean end, else what went wrong.
        """
        if self._runner_task is None or self._runner_task.done():
            return None
        try:
            await self.stop(timeout)
            return None
        except Exception as exc:
            problem = f"{self.transport.call_cid}: EndFrame did not end the pipeline ({exc!r})"
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task.cancel(), timeout / 2)
        if not self._runner_task.done():
            self._runner_task.cancel()
            await asyncio.wait({self._runner_task}, timeout=timeout / 2)
        return problem

    async def __aexit__(self, *exc: Any) -> None:
        await self.end()


async def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> None:
    """Poll ``predicate`` until true; fail the test with a clear message on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        await asyncio.sleep(interval)
