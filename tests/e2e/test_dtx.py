"""DTX gaps: a user's packets stop after speech, and the bot's Silero VAD still sees the turn end.

A browser with DTX sends (nearly) no packets while its user is silent, and both SDK
generations then deliver nothing at all. Here the participant speaks (a synthetic voice
that Silero takes as speech from start to end) and then the server forwards none of its packets to the bot (the
server's media faults: every packet to the bot dropped), which is what the bot's SDK sees
during DTX. Pipecat's Silero VAD, reading the frames the transport delivers, must report that
the user stopped speaking while no packet arrives, in both ``audio_in_user_tracks`` modes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import numpy as np
import pytest
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADState
from pipecat.frames.frames import Frame, InputAudioRawFrame, UserAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from pipecat_getstream.testing import SimulatedParticipant
from pipecat_getstream.testing.signals import voiced
from tests.e2e.bot import Bot, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SPEECH = voiced(2.0)
MIX = "(mix)"


class VadProbe(FrameProcessor):
    """Runs Pipecat's Silero VAD on the audio it passes on: one analyzer per user (or the mix).

    Records each change of speaking state, and the audio each stream delivered.
    """

    def __init__(self) -> None:
        super().__init__()
        self.analyzers: dict[str, SileroVADAnalyzer] = {}
        self.speaking: dict[str, bool] = {}
        self.changes: list[tuple[float, str, bool]] = []
        self.audio: dict[str, list[np.ndarray]] = {}

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            who = frame.user_id if isinstance(frame, UserAudioRawFrame) else MIX
            self.audio.setdefault(who, []).append(np.frombuffer(frame.audio, dtype=np.int16))
            analyzer = self.analyzers.get(who)
            if analyzer is None:
                analyzer = self.analyzers[who] = SileroVADAnalyzer(sample_rate=frame.sample_rate)
                analyzer.set_sample_rate(frame.sample_rate)
            state = await analyzer.analyze_audio(frame.audio)
            speaking = state in (VADState.SPEAKING, VADState.STOPPING)
            if state in (VADState.SPEAKING, VADState.QUIET) and speaking != self.speaking.get(
                who, False
            ):
                self.speaking[who] = speaking
                self.changes.append((time.monotonic(), who, speaking))
        await self.push_frame(frame, direction)

    async def cleanup(self) -> None:
        await super().cleanup()
        for analyzer in self.analyzers.values():
            await analyzer.cleanup()  # its executor thread

    def started(self, who: str) -> int:
        return sum(1 for _, w, s in self.changes if w == who and s)

    def stopped(self, who: str) -> int:
        return sum(1 for _, w, s in self.changes if w == who and not s)

    def stopped_since(self, who: str, since: float) -> bool:
        """Whether the VAD turned quiet after ``since`` and is quiet now."""
        return not self.speaking.get(who, False) and any(
            t > since and w == who and not s for t, w, s in self.changes
        )

    def samples(self, who: str) -> int:
        return sum(len(a) for a in self.audio.get(who, []))


def bot_with_vad(server: Any, call_id: str, **params: Any) -> tuple[Bot, VadProbe]:
    bot = Bot(server, call_id, keep_audio=False, **params)
    vad = VadProbe()
    bot.task = PipelineTask(
        Pipeline([bot.transport.input(), vad, bot.probe, bot.transport.output()]),
        params=PipelineParams(),
        idle_timeout_secs=None,
    )
    return bot, vad


@pytest.mark.parametrize("user_tracks", [True, False], ids=["per-user", "mixed"])
async def test_vad_sees_the_turn_end_when_the_packets_stop(local_server, user_tracks):
    call_id = f"call-{uuid.uuid4().hex[:10]}"
    who = "alice" if user_tracks else MIX
    bot, vad = bot_with_vad(local_server, call_id, audio_in_user_tracks=user_tracks)
    async with bot, SimulatedParticipant(local_server, call_id, "alice") as alice:
        try:
            # A first turn with packets flowing (talking until the bot's VAD hears it).
            talking = asyncio.create_task(alice.say(SPEECH, repeat=True))
            await wait_until(lambda: vad.started(who) >= 1, timeout=20)
            talking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await talking
            await wait_until(lambda: vad.stopped(who) >= 1, timeout=10)
            # The second turn: once it is said, no packet of alice's reaches the bot (DTX).
            starts = vad.started(who)
            await alice.say(SPEECH)
            local_server.set_media_faults(drop_fraction=1.0, user_id="pipecat-bot")
            dropping_from = time.monotonic()
            await wait_until(lambda: vad.started(who) > starts, timeout=10)
            await wait_until(lambda: vad.stopped_since(who, dropping_from), timeout=10)
            stopped_at = vad.changes[-1][0]
            # The silence goes on (continuous audio), and it is silence, not speech.
            before = vad.samples(who)
            await wait_until(lambda: vad.samples(who) >= before + 16000 // 2, timeout=10)
            assert [c for c in vad.changes if c[0] > stopped_at] == []
            tail = np.concatenate(vad.audio[who])[before:]
            assert not tail.any()
            if user_tracks:
                # Gone from the call: no more silence is generated for alice.
                await alice.leave()
                await wait_until(lambda: bot.fired("on_participant_left"), timeout=15)
                after_leave = vad.samples(who)
                await asyncio.sleep(0.5)
                assert vad.samples(who) == after_leave
        finally:
            local_server.set_media_faults()
