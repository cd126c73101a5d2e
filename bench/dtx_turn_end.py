"""User stops talking -> Pipecat's VAD says so, with DTX-like gaps and without.

``python -m bench.dtx_turn_end [--turns N] [--mixed]``

A :class:`~pipecat_getstream.testing.SimulatedParticipant` says 2 s of speech (the kit's
synthetic voice, speech to Silero from start to end) to a bot whose pipeline runs Pipecat's
Silero VAD on the transport's audio, turn after turn in one call. After each turn either the
participant's SDK goes on sending silence (no DTX), or no packet of theirs reaches the bot
(DTX: the local server drops every packet to the bot until the VAD has spoken). Measured
per turn: from the moment the participant finished sending the speech to the VAD's change
to "quiet". With the transport's gap filling both should be the same within one 20 ms
frame; without it, the DTX turns would never end.
Writes ``bench/results/dtx_turn_end.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADState
from pipecat.frames.frames import EndFrame, Frame, InputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from pipecat_getstream import GetstreamTransport
from pipecat_getstream.stacks import stack_name
from pipecat_getstream.testing import SimulatedParticipant
from pipecat_getstream.testing.pytest_plugin import running_server
from pipecat_getstream.testing.signals import SAMPLE_RATE, voiced
from pipecat_getstream.transport import GetstreamParams

ROOT = Path(__file__).resolve().parents[1]
SPEECH = voiced(2.0)
BOT = "dtx-bench-bot"


class VadTimer(FrameProcessor):
    """Silero VAD over every input audio frame; notes when it turns quiet or speaking."""

    def __init__(self) -> None:
        super().__init__()
        self.vad = SileroVADAnalyzer()
        self._rate = 0
        self.speaking = False
        self.quiet_at: float | None = None
        self.changed = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            if frame.sample_rate != self._rate:
                self._rate = frame.sample_rate
                self.vad.set_sample_rate(frame.sample_rate)
            state = await self.vad.analyze_audio(frame.audio)
            if state == VADState.SPEAKING and not self.speaking:
                self.speaking = True
                self.changed.set()
            elif state == VADState.QUIET and self.speaking:
                self.speaking, self.quiet_at = False, time.monotonic()
                self.changed.set()
        await self.push_frame(frame, direction)

    async def cleanup(self) -> None:
        await super().cleanup()
        await self.vad.cleanup()  # its executor thread

    async def quiet_after(self, since: float, timeout: float) -> float:
        """When the VAD next turned quiet after ``since`` (waiting for it)."""
        deadline = time.monotonic() + timeout
        while self.speaking or self.quiet_at is None or self.quiet_at <= since:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(0.01, deadline - time.monotonic()))
        return self.quiet_at


async def run(server: Any, turns: int, user_tracks: bool) -> dict[str, Any]:
    call_id = f"dtx-{uuid.uuid4().hex[:8]}"
    transport = GetstreamTransport(
        api_key=server.api_key,
        api_secret=server.api_secret,
        call_type="default",
        call_id=call_id,
        user_id=BOT,
        params=GetstreamParams(audio_in_user_tracks=user_tracks),
        base_url=server.base_url,
    )
    vad = VadTimer()
    task = PipelineTask(
        Pipeline([transport.input(), vad, transport.output()]),
        params=PipelineParams(),
        idle_timeout_secs=None,
    )
    runner = asyncio.create_task(PipelineRunner(handle_sigint=False).run(task))
    results: dict[str, list[float]] = {"no_dtx": [], "dtx": []}
    try:
        async with SimulatedParticipant(server, call_id, "alice") as alice:
            # Talk until the bot's VAD hears alice (it has subscribed), then measure turns.
            for _ in range(10):
                said = await alice.say(SPEECH) + len(SPEECH) / SAMPLE_RATE
                with contextlib.suppress(asyncio.TimeoutError):
                    await vad.quiet_after(said, timeout=2)
                    break
            await asyncio.sleep(0.5)
            for turn in range(2 * turns):
                dtx = turn % 2 == 1
                said = await alice.say(SPEECH) + len(SPEECH) / SAMPLE_RATE
                if dtx:
                    server.set_media_faults(drop_fraction=1.0, user_id=BOT)
                try:
                    quiet_at = await vad.quiet_after(said, timeout=10)
                finally:
                    server.set_media_faults()
                results["dtx" if dtx else "no_dtx"].append(quiet_at - said)
                await asyncio.sleep(0.5)  # packets flow again before the next turn
    finally:
        await task.queue_frame(EndFrame())
        await asyncio.wait_for(runner, 20)
    return {
        name: {
            "turns": len(values),
            "median_ms": round(1000 * statistics.median(values), 1),
            "min_ms": round(1000 * min(values), 1),
            "max_ms": round(1000 * max(values), 1),
        }
        for name, values in results.items()
    } | {"vad_stop_secs": vad.vad.params.stop_secs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5, help="turns with and without DTX each")
    parser.add_argument("--mixed", action="store_true", help="audio_in_user_tracks=False")
    args = parser.parse_args()
    with running_server() as server:
        figures = asyncio.run(run(server, args.turns, not args.mixed))
    figures["stack"] = stack_name()
    figures["mode"] = "mixed" if args.mixed else "per-user"
    print(json.dumps(figures, indent=2))
    out = ROOT / "bench" / "results" / "dtx_turn_end.json"
    existing = json.loads(out.read_text()) if out.exists() else {}
    existing[f"{figures['stack']}/{figures['mode']}"] = figures
    out.write_text(json.dumps(existing, indent=2) + "\n")


if __name__ == "__main__":
    main()
