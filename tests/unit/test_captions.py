"""Caption aggregation and the bounded, never-blocking post queue (the sender is faked)."""

from __future__ import annotations

import asyncio

from pipecat.frames.frames import BotStoppedSpeakingFrame, TTSTextFrame

from pipecat_getstream.pipeline.captions import Caption, CaptionTarget, ClosedCaptions
from pipecat_getstream.pipeline.frames import InterruptionFrame
from pipecat_getstream.stacks.rest import RestClient

TARGET = CaptionTarget("default", "c1", "bot")
REST = RestClient("key", "secret", None, "http://127.0.0.1:1")  # never used: _send is faked


class FakeCaptions(ClosedCaptions):
    def __init__(self, maxsize: int = 32, gate: asyncio.Event | None = None) -> None:
        super().__init__(TARGET, REST, maxsize=maxsize)
        self.enabled = True
        self.sent: list[Caption] = []
        self.gate = gate

    async def _send(self, caption: Caption) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.sent.append(caption)


async def test_pieces_become_sentences() -> None:
    captions = FakeCaptions()
    for piece in ["Hello", "world.", "Second", " one", "!", "cut"]:
        captions.observe(TTSTextFrame(piece, "word"))
    captions.observe(InterruptionFrame())
    captions.observe(TTSTextFrame("  ", "word"))
    captions.observe(BotStoppedSpeakingFrame())
    await captions.close()
    assert [(c.speaker_id, c.text) for c in captions.sent] == [
        ("bot", "Hello world."),
        ("bot", "Second one!"),
        ("bot", "cut"),
    ]
    assert all(c.start_time <= c.end_time for c in captions.sent)


async def test_a_slow_sender_drops_the_oldest_and_never_blocks() -> None:
    gate = asyncio.Event()
    captions = FakeCaptions(maxsize=2, gate=gate)
    for i in range(6):
        captions.observe(TTSTextFrame(f"Sentence {i}.", "sentence"))
    await asyncio.sleep(0)  # the sender takes the first and waits on the gate
    for i in range(6, 8):
        captions.observe(TTSTextFrame(f"Sentence {i}.", "sentence"))
    assert captions.dropped > 0
    gate.set()
    await captions.close()
    texts = [c.text for c in captions.sent]
    assert texts[-2:] == ["Sentence 6.", "Sentence 7."]  # the newest survive
    assert len(texts) + captions.dropped == 8
