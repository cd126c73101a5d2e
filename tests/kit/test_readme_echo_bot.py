"""Test a Pipecat bot in a GetStream call, offline: the bot echoes what it hears."""

import asyncio

import pytest
from pipecat.frames.frames import InputAudioRawFrame, OutputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.frame_processor import FrameProcessor

from pipecat_getstream import GetstreamTransport
from pipecat_getstream.testing.signals import tone

# --- not in the README: the same test on Pipecat before 1.3 (CI's lowest stage, 0.0.108) ---
try:
    from pipecat.pipeline.worker import PipelineWorker
    from pipecat.workers.runner import WorkerRunner
except ImportError:
    from pipecat.pipeline.runner import PipelineRunner
    from pipecat.pipeline.task import PipelineTask as PipelineWorker

    class WorkerRunner(PipelineRunner):
        """Pipecat 1.3's ``add_workers(worker)`` then ``run()``, on ``run(task)``."""

        async def add_workers(self, worker):
            self.worker = worker

        async def run(self):
            await super().run(self.worker)
# --- end of what is not in the README ---


class Echo(FrameProcessor):
    """Sends every audio frame the bot hears straight back into the call."""

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            frame = OutputAudioRawFrame(frame.audio, frame.sample_rate, frame.num_channels)
        await self.push_frame(frame, direction)


@pytest.mark.asyncio
async def test_the_bot_echoes_what_alice_says(
    getstream_server, getstream_call_id, simulated_participant
):
    transport = GetstreamTransport(
        api_key=getstream_server.api_key,
        api_secret=getstream_server.api_secret,
        call_type="default",
        call_id=getstream_call_id,
        user_id="echo-bot",
        base_url=getstream_server.base_url,
    )
    worker = PipelineWorker(Pipeline([transport.input(), Echo(), transport.output()]))
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    bot = asyncio.create_task(runner.run())
    try:
        alice = await simulated_participant(getstream_call_id, "alice")
        await alice.wait_for_participant("echo-bot")

        said_at = await alice.say(tone(440, 1.0))  # or a WAV file: alice.say("hello.wav")

        heard = alice.recording("echo-bot")
        await alice.wait_for_sound("echo-bot", since=said_at)  # TimeoutError if never
        await alice.wait_for_silence("echo-bot", quiet=1.0)
        assert abs(heard.dominant_frequency(said_at) - 440) < 20  # the same tone
        echoed = sum(end - start for start, end in heard.segments(said_at))
        assert 0.7 < echoed < 1.5  # about as long as what was said: all of it, once
    finally:
        await runner.cancel()
        await bot
