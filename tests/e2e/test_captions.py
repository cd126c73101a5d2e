"""Closed captions: the bot's spoken sentences and users' transcriptions reach watchers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import pytest
from pipecat.frames.frames import (
    OutputAudioRawFrame,
    TranscriptionFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)

from pipecat_getstream.pipeline.captions import sdk_supports_captions
from pipecat_getstream.testing import SimulatedParticipant
from pipecat_getstream.testing.signals import tone
from tests.e2e.bot import Bot, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        not sdk_supports_captions(), reason="this GetStream SDK has no send_closed_caption"
    ),
]


def _text(text: str) -> TTSTextFrame:
    return TTSTextFrame(text, "word")


async def test_captions_reach_a_watching_participant(local_server):
    call_id = f"call-{uuid.uuid4().hex[:10]}"
    watcher = await SimulatedParticipant(local_server, call_id, "alice").join()
    try:
        async with Bot(local_server, call_id, closed_captions=True) as bot:
            await wait_until(lambda: bot.transport.get_participants() == ["alice"], timeout=15)
            speech = tone(440, 1.0, rate=16000)
            frames = [
                TTSStartedFrame(),
                OutputAudioRawFrame(speech[:8000].tobytes(), 16000, 1),
                _text("Hello"),
                _text("there."),
                OutputAudioRawFrame(speech[8000:].tobytes(), 16000, 1),
                _text("How are you?"),
                _text("Half a"),
                TTSStoppedFrame(),
                TranscriptionFrame("I am fine", "alice", datetime.now().isoformat()),
            ]
            for frame in frames:
                await bot.task.queue_frame(frame)
            captions = await watcher.wait_for_captions(4, timeout=15)
        texts = [(c["speaker_id"], c["text"]) for c in captions]
        assert texts == [
            ("pipecat-bot", "Hello there."),
            ("pipecat-bot", "How are you?"),
            ("pipecat-bot", "Half a"),  # what was spoken when the bot stopped
            ("alice", "I am fine"),
        ]
        start = datetime.fromisoformat(captions[0]["start_time"])
        end = datetime.fromisoformat(captions[0]["end_time"])
        assert start <= end
        # Server side: posted by the bot, as captions of this call.
        posted = [c for c in local_server.closed_captions if c[0] == f"default:{call_id}"]
        assert [p[1] for p in posted] == ["pipecat-bot"] * 4
    finally:
        await watcher.leave()


async def test_captions_off_by_default(local_server):
    call_id = f"call-{uuid.uuid4().hex[:10]}"
    async with Bot(local_server, call_id) as bot:
        assert bot.transport.closed_captions is None
        await bot.task.queue_frame(_text("Nobody sees this."))
        await asyncio.sleep(0.5)
    assert not [c for c in local_server.closed_captions if c[0] == f"default:{call_id}"]
