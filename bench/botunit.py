"""One bot of either implementation: a transport in a Pipecat pipeline, with a probe.

Runs in the bot process, which for reference runs is the reference virtual environment's
interpreter: ``import pipecat_getstream`` there is the reference package. Only keyword
arguments that both implementations accept are used.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from typing import Any

import numpy as np
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InterruptionFrame,
    OutputAudioRawFrame,
    UserAudioRawFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from bench import trackwatch
from bench.signals import LOUD, Tone

warnings.filterwarnings("ignore", category=DeprecationWarning)

OUT_RATE = 16000


class Probe(FrameProcessor):
    """Records when participants' speech starts in ``UserAudioRawFrame`` (input latency)."""

    def __init__(self) -> None:
        super().__init__()
        self.onsets: list[float] = []
        self.frames = 0
        self._quiet_since: float | None = 0.0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, UserAudioRawFrame):
            now = time.monotonic()
            self.frames += 1
            samples = np.frombuffer(frame.audio, dtype=np.int16)
            loud = samples.size > 0 and int(np.max(np.abs(samples.astype(np.int32)))) > LOUD
            if loud:
                if self._quiet_since is not None and now - self._quiet_since >= 0.15:
                    self.onsets.append(now)
                self._quiet_since = None
            elif self._quiet_since is None:
                self._quiet_since = now
        await self.push_frame(frame, direction)


def make_transport(
    impl: str, creds: dict[str, str], call_id: str, user_id: str, track_rate: int = OUT_RATE
) -> Any:
    """Build the transport under test with the same parameters for both implementations.

    ``track_rate`` is ``audio_out_sample_rate`` (the pipeline's audio stays 16 kHz).
    """
    from pipecat_getstream.transport import GetstreamParams, GetstreamTransport

    params = GetstreamParams(
        audio_in_enabled=True,
        audio_out_enabled=True,
        audio_in_sample_rate=16000,
        audio_out_sample_rate=track_rate,
        audio_out_end_silence_secs=0,
    )
    kwargs: dict[str, Any] = {
        "api_key": creds["api_key"],
        "api_secret": creds["api_secret"],
        "call_type": "default",
        "call_id": call_id,
        "user_id": user_id,
        "params": params,
    }
    if impl == "ours":
        kwargs["base_url"] = creds["base_url"]
        if creds.get("writer_lead_secs"):
            params.audio_out_lead_secs = float(creds["writer_lead_secs"])
    return GetstreamTransport(**kwargs)


class BotUnit:
    """A transport in ``input -> probe -> output``, started and ended on command.

    Args:
        index: The bot's number in this process (owner of its tracks).
        impl: ``"ours"`` or ``"reference"``.
        creds: ``base_url``, ``api_key``, ``api_secret`` of the local server.
        call_id: The call to join.
        user_id: The bot's user id.

    """

    def __init__(self, index: int, impl: str, creds: dict[str, str], call_id: str, user_id: str):
        self.index = index
        self.call_id = call_id
        rate = int(creds.get("track_rate") or OUT_RATE)
        self.transport = make_transport(impl, creds, call_id, user_id, rate)
        self.probe = Probe()
        self.connected = asyncio.Event()
        self.connected_at: float | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.speaker: asyncio.Task[None] | None = None
        self.pushed_secs = 0.0

        @self.transport.event_handler("on_connected")
        async def on_connected(*_: Any) -> None:
            self.connected_at = time.monotonic()
            self.connected.set()

        pipeline = Pipeline([self.transport.input(), self.probe, self.transport.output()])
        try:
            self.task = PipelineTask(
                pipeline, params=PipelineParams(), idle_timeout_secs=None, enable_rtvi=False
            )
        except TypeError:  # an older Pipecat
            self.task = PipelineTask(pipeline, params=PipelineParams())
        self._runner: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 60.0) -> float:
        """Run the pipeline until ``on_connected``; returns the seconds that took."""
        self.started_at = time.monotonic()
        token = trackwatch.current_owner.set(self.index)
        try:
            runner = PipelineRunner(handle_sigint=False)
            self._runner = asyncio.create_task(runner.run(self.task))
        finally:
            trackwatch.current_owner.reset(token)
        waiter = asyncio.create_task(self.connected.wait())
        done, _ = await asyncio.wait(
            {waiter, self._runner}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if waiter not in done:
            waiter.cancel()
            raise RuntimeError(f"bot {self.index} did not connect within {timeout}s")
        assert self.connected_at is not None
        return self.connected_at - self.started_at

    async def say(self, audio: np.ndarray) -> float:
        """Queue ``audio`` (16 kHz s16) as one frame; returns when it was queued."""
        t = time.monotonic()
        await self.task.queue_frame(OutputAudioRawFrame(audio.tobytes(), OUT_RATE, 1))
        return t

    def speak(
        self, secs: float, chunk_secs: float, speed: float, max_ahead: float, freq: float
    ) -> None:
        """Start pushing ``secs`` of a tone TTS-style: chunks at ``speed`` x real time,
        never more than ``max_ahead`` seconds ahead of real-time playback."""
        if self.speaker is not None and not self.speaker.done():
            self.speaker.cancel()
        self.speaker = asyncio.create_task(self._speak(secs, chunk_secs, speed, max_ahead, freq))

    async def _speak(
        self, secs: float, chunk_secs: float, speed: float, max_ahead: float, freq: float
    ) -> None:
        tone = Tone(freq, OUT_RATE)
        start = time.monotonic()
        pushed = 0.0
        while pushed < secs - 1e-9:
            part = min(chunk_secs, secs - pushed)
            await self.say(tone.next(part))
            pushed += part
            self.pushed_secs = pushed
            elapsed = time.monotonic() - start
            wait = max(pushed / speed - elapsed, pushed - max_ahead - elapsed)
            if wait > 0:
                await asyncio.sleep(wait)

    async def interrupt(self) -> float:
        """Push an ``InterruptionFrame``; returns the instant it was pushed."""
        if self.speaker is not None and not self.speaker.done():
            self.speaker.cancel()
        t = time.monotonic()
        await self.task.queue_frame(InterruptionFrame())
        return t

    async def end(self, timeout: float = 60.0) -> float:
        """Queue ``EndFrame`` and wait until the pipeline has finished; returns the seconds."""
        if self.speaker is not None and not self.speaker.done():
            self.speaker.cancel()
        t = time.monotonic()
        if self._runner is None or self._runner.done():
            return 0.0
        await self.task.queue_frame(EndFrame())
        try:
            await asyncio.wait_for(asyncio.shield(self._runner), timeout)
        except asyncio.TimeoutError:
            await self.task.cancel()
            raise
        self.ended_at = time.monotonic()
        return self.ended_at - t

    async def cancel(self) -> None:
        """Cancel the pipeline (cleanup after errors)."""
        if self._runner is not None and not self._runner.done():
            await self.task.cancel()
            await asyncio.wait({self._runner}, timeout=10)
