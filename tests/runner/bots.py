"""Bots the runner's tests serve: each behaves as its session's body says.

``{"mode": "tone"}`` (default) plays a tone until ended; ``"crash"`` joins, then raises;
``"hang"`` never joins and sleeps until cancelled; ``"finish"`` joins and ends its own
pipeline after ``seconds``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pipecat.frames.frames import OutputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.task import PipelineTask

from pipecat_getstream.params import GetstreamParams
from pipecat_getstream.runner import GetstreamRunnerArguments
from pipecat_getstream.testing.signals import tone

RATE = 16000
CHUNK_S = 0.4


async def bot(runner_args: Any) -> None:
    args = GetstreamRunnerArguments.from_runner_args(runner_args)
    mode = args.body.get("mode", "tone")
    if mode == "hang":
        await asyncio.sleep(3600)
        return
    transport = args.transport(GetstreamParams(audio_out_enabled=True, audio_in_enabled=False))
    task = PipelineTask(Pipeline([transport.input(), transport.output()]), idle_timeout_secs=None)
    joined = asyncio.Event()

    async def connected(*_: Any) -> None:
        joined.set()

    transport.add_event_handler("on_connected", connected)
    frequency = float(args.body.get("frequency", 440.0))
    chunk = tone(frequency, CHUNK_S, rate=RATE).tobytes()

    async def speak() -> None:
        await joined.wait()
        if mode == "crash":
            await asyncio.sleep(0.3)
            raise RuntimeError("the bot crashed on purpose")
        if mode == "finish":
            await asyncio.sleep(float(args.body.get("seconds", 0.5)))
            await task.cancel()
            return
        while True:
            await task.queue_frame(OutputAudioRawFrame(chunk, RATE, 1))
            await asyncio.sleep(CHUNK_S)

    speaker = asyncio.create_task(speak())
    running = asyncio.create_task(args.run(task))
    try:
        done, _ = await asyncio.wait({speaker, running}, return_when=asyncio.FIRST_COMPLETED)
        if speaker in done and speaker.exception() is not None:
            await task.cancel()
            raise speaker.exception()  # type: ignore[misc]
        await running
    finally:
        for job in (speaker, running):
            job.cancel()
        # Waits without swallowing a cancellation of the bot itself.
        await asyncio.wait({speaker, running})
