"""An echo bot served as an agent service: one command from ``bot.py`` to a service.

Run it against GetStream (or the local server, offline)::

    export STREAM_API_KEY=... STREAM_API_SECRET=...   # GETSTREAM_BASE_URL for the local server
    export RUNNER_API_TOKEN=$(python -c "import secrets; print(secrets.token_hex(16))")
    python examples/runner/bot.py --webhook-events call.session_started

Point the app's webhook URL at ``http://<host>:7860/webhooks/getstream`` and every call that
starts gets the bot; or start one yourself::

    curl -X POST localhost:7860/sessions -H "Authorization: Bearer $RUNNER_API_TOKEN" \
         -d '{"call_type": "default", "call_id": "my-call", "body": {"greeting": true}}'

The same ``bot`` also runs under Pipecat Cloud: its session body names the call
(``{"call_type": ..., "call_id": ...}``) and ``from_runner_args`` reads it.
"""

from __future__ import annotations

from typing import Any

from pipecat.frames.frames import Frame, InputAudioRawFrame, OutputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.task import PipelineTask
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from pipecat_getstream import GetstreamParams
from pipecat_getstream.runner import GetstreamRunnerArguments, run


class Echo(FrameProcessor):
    """Sends what the bot hears straight back into the call."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Turn heard audio into the bot's audio; pass every other frame on."""
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            frame = OutputAudioRawFrame(frame.audio, frame.sample_rate, frame.num_channels)
        await self.push_frame(frame, direction)


async def bot(runner_args: Any) -> None:
    """One session: join the call named by the runner arguments and echo it."""
    args = GetstreamRunnerArguments.from_runner_args(runner_args)
    transport = args.transport(GetstreamParams(), user_name="Echo bot")
    task = PipelineTask(
        Pipeline([transport.input(), Echo(), transport.output()]),
        idle_timeout_secs=args.pipeline_idle_timeout_secs,
    )
    await args.run(task)  # the server ends it: call ended, idle, max duration, drain


if __name__ == "__main__":
    run(bot)
