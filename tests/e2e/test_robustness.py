"""Slow pipelines, odd audio, restarts and cancellation: handled, bounded, nothing leaked."""

import asyncio
import gc
import os
import threading
import time
import uuid

import numpy as np
import pytest
from loguru import logger
from pipecat.audio.filters.base_audio_filter import BaseAudioFilter
from pipecat.frames.frames import EndFrame, OutputAudioRawFrame, OutputImageRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineTask

from pipecat_getstream.stacks import wait_for_closed_sockets
from pipecat_getstream.testing import SimulatedParticipant
from pipecat_getstream.testing.signals import dominant_frequency, rms, tone
from tests.e2e.bot import Bot, wait_until
from tests.e2e.human import Human

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def new_call() -> str:
    return f"call-{uuid.uuid4().hex[:10]}"


class SlowFilter(BaseAudioFilter):
    """An input audio filter three times slower than real time."""

    async def start(self, sample_rate: int) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def process_frame(self, frame) -> None:
        pass

    async def filter(self, audio: bytes) -> bytes:
        await asyncio.sleep(0.06)
        return audio


async def test_slow_pipeline_keeps_input_bounded_and_reports_once(local_server):
    warnings: list[str] = []
    sink = logger.add(lambda m: warnings.append(str(m)), level="WARNING")
    call_id = new_call()
    try:
        async with Bot(
            local_server, call_id, audio_in_filter=SlowFilter(), audio_in_queue_frames=25
        ) as bot:
            async with Human(local_server, call_id, "alice", tone_hz=440):
                sizes, in_pipecat = [], []
                feed = bot.transport.input().audio_feed
                for _ in range(40):
                    await asyncio.sleep(0.1)
                    sizes.append(feed.waiting)
                    # Observed only: Pipecat's own (unbounded) queue behind the feed.
                    queue = getattr(bot.transport.input(), "_audio_in_queue", None)
                    if queue is not None:
                        in_pipecat.append(queue.qsize())
            dropped = bot.transport.input().dropped_audio_frames
    finally:
        logger.remove(sink)
    assert dropped > 20
    assert max(sizes) <= 25
    assert max(in_pipecat, default=0) <= 25  # no backlog builds up inside Pipecat either
    assert sum("dropping oldest audio" in w for w in warnings) == 1


async def test_odd_output_audio_is_played_not_fatal(local_server):
    """Odd lengths, empty frames, many rates, stereo, rate changes and very long frames."""
    call_id = new_call()
    async with Bot(local_server, call_id) as bot, Human(local_server, call_id, "alice") as human:
        frames = [
            OutputAudioRawFrame(b"", 16000, 1),
            OutputAudioRawFrame(
                tone(440, 0.2, rate=16000).tobytes() + b"\x01", 16000, 1
            ),  # odd bytes
        ]
        for rate in (8000, 11025, 22050, 44100, 48000):
            frames.append(OutputAudioRawFrame(tone(440, 0.3, rate=rate).tobytes(), rate, 1))
        stereo = np.repeat(tone(440, 0.3, rate=24000), 2)
        frames.append(OutputAudioRawFrame(stereo.tobytes(), 24000, 2))
        frames.append(OutputAudioRawFrame(tone(440, 2.5, rate=16000).tobytes(), 16000, 1))  # > 1 s
        started = time.monotonic()
        for frame in frames:
            await bot.task.queue_frame(frame)
        heard = human.from_user("pipecat-bot")
        await wait_until(lambda: len(heard.samples(since=started)) > 48000 * 7, timeout=20)
        loud = np.concatenate([s for t, s in heard.chunks if t >= started and rms(s) > 1000])
        assert len(loud) > 48000 * 4.2  # the whole ~4.5 s of tone arrived
        assert abs(dominant_frequency(loud, 48000) - 440) < 10
        assert bot.transport.client.connected


async def test_bad_images_are_skipped_and_the_pipeline_lives(local_server):
    call_id = new_call()
    async with (
        Bot(
            local_server, call_id, video_out_enabled=True, video_out_width=64, video_out_height=48
        ) as bot,
        SimulatedParticipant(local_server, call_id, "alice", receive_video=True) as alice,
    ):
        output = bot.transport.output()
        frames = lambda: alice.video_sizes("pipecat-bot")  # noqa: E731
        # Not live: Pipecat redraws the newest image at the frame rate, so a bad one is
        # counted again on each redraw and a good one keeps frames flowing.
        for image, size, fmt in [
            (bytes(10), (64, 48), "RGB"),  # wrong byte count
            (bytes(64 * 48 * 3), (64, 48), "CMYK"),  # unknown format
        ]:
            bad = output.bad_images
            await bot.task.queue_frame(OutputImageRawFrame(image, size, fmt))
            await wait_until(lambda: output.bad_images > bad, timeout=10)  # noqa: B023
        for image, size, fmt in [
            (bytes(63 * 47 * 4), (63, 47), "RGBA"),  # odd size: padded and sent
            (bytes(3840 * 2160 * 3), (3840, 2160), "RGB"),  # 4K: resized by Pipecat and sent
        ]:
            await bot.task.queue_frame(OutputImageRawFrame(image, size, fmt))
            seen = len(frames())
            await wait_until(lambda: len(frames()) >= seen + 5, timeout=15)  # noqa: B023
            bad = output.bad_images  # now drawing this image: no more bad ones
            seen = len(frames())
            await wait_until(lambda: len(frames()) >= seen + 10, timeout=15)  # noqa: B023
            assert output.bad_images == bad, f"{size} {fmt} was not sent"
        assert set(frames()) == {(64, 48)}
        assert bot.transport.client.connected


def _threads() -> set[str]:
    return {
        t.name
        for t in threading.enumerate()
        if not t.name.startswith(("asyncio_", "ThreadPoolExecutor"))
    }


async def test_start_stop_start_and_cancel_leak_nothing(local_server):
    call_id = new_call()
    bot = Bot(local_server, call_id)
    await bot.start()
    await bot.stop()
    await wait_for_closed_sockets()
    gc.collect()
    base_threads, base_fds = _threads(), len(os.listdir("/proc/self/fd"))
    base_tasks = len(asyncio.all_tasks())

    transport = bot.transport
    for _ in range(2):
        connected = asyncio.Event()
        transport.event_handler("on_connected")(lambda *a, e=connected: e.set())
        task = PipelineTask(Pipeline([transport.input(), transport.output()]))
        run = asyncio.create_task(PipelineRunner(handle_sigint=False).run(task))
        await asyncio.wait_for(connected.wait(), 15)
        assert transport.client.connected
        await task.queue_frame(EndFrame())
        await asyncio.wait_for(run, 20)
        assert not transport.client.connected

    # Cancel while connecting.
    cancelled = Bot(local_server, new_call())
    run = asyncio.create_task(PipelineRunner(handle_sigint=False).run(cancelled.task))
    await asyncio.sleep(0.05)
    await cancelled.task.cancel()
    await asyncio.wait_for(run, 20)
    await asyncio.sleep(0.5)
    assert not cancelled.transport.client.connected

    await wait_for_closed_sockets()
    # The SDK's signaling ping thread sleeps 10 s between pings; it ends on its next wake-up.
    await wait_until(lambda: _threads() <= base_threads, timeout=15, interval=0.5)
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) <= base_fds + 2
    assert len(asyncio.all_tasks()) <= base_tasks + 1
