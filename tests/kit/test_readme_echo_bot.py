"""Test a Pipecat bot in a GetStream call, offline: the bot echoes what it hears."""

import asyncio

import pytest
from pipecat.frames.frames import InputAudioRawFrame, OutputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineTask
from pipecat.processors.frame_processor import FrameProcessor

from pipecat_getstream import GetstreamTransport
from pipecat_getstream.testing.signals import tone


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
    task = PipelineTask(Pipeline([transport.input(), Echo(), transport.output()]))
    bot = asyncio.create_task(PipelineRunner(handle_sigint=False).run(task))
    try:
        alice = await simulated_participant(getstream_call_id, "alice")
        await alice.wait_for_participant("echo-bot")

        said_at = await alice.say(tone(440, 1.0))  # or a WAV file: alice.say("hello.wav")

        heard = alice.recording("echo-bot")
        first = await alice.wait_for_sound("echo-bot", since=said_at)
        await alice.wait_for_silence("echo-bot", quiet=0.5)
        assert first - said_at < 1.0  # the echo starts within a second
        assert abs(heard.dominant_frequency(said_at) - 440) < 20  # and it is the same tone
        (start, end), *_ = heard.segments(said_at)
        assert 0.7 < end - start < 1.3  # about as long as what was said
    finally:
        await task.cancel()
        await bot
