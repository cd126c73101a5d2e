"""Audio and video both ways through LocalStreamServer, with the unmodified SDK as the human."""

import time
import uuid

import numpy as np
import pytest

from pipecat_getstream.testing.signals import dominant_frequency, rms, tone
from tests.e2e.bot import Bot, wait_until
from tests.e2e.human import Human

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def new_call() -> str:
    return f"call-{uuid.uuid4().hex[:10]}"


def _loud(heard) -> np.ndarray:
    """The samples of the chunks that carry the tone (RMS above 1000)."""
    parts = [s for _, s in heard.chunks if rms(s) > 1000]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


async def test_quickstart_pipeline_hears_the_human_and_the_human_hears_the_bot(local_server):
    call_id = new_call()
    async with (
        Bot(local_server, call_id) as bot,
        Human(local_server, call_id, "alice", tone_hz=440),
    ):
        await wait_until(lambda: len(bot.probe.samples("alice")) > 16000 * 1.5, timeout=20)
        heard = bot.probe.samples("alice")[-16000:]
        assert bot.probe.audio_rates == {16000}
        assert abs(dominant_frequency(heard, 16000) - 440) < 10
        assert rms(heard) > 1000
        assert set(bot.probe.audio) == {"alice"}


async def test_bot_tone_reaches_the_human(local_server):
    call_id = new_call()
    async with Bot(local_server, call_id) as bot, Human(local_server, call_id, "alice") as human:
        await bot.say(tone(660, 3.0, rate=16000))
        heard = human.from_user("pipecat-bot")
        await wait_until(
            lambda: rms(heard.samples(since=time.monotonic() - 0.5)) > 1000, timeout=15
        )
        await wait_until(lambda: len(_loud(heard)) >= 48000, timeout=10)  # a second of it
        loud = _loud(heard)
        assert abs(dominant_frequency(loud[-48000:], 48000) - 660) < 10


async def test_two_participants_get_separate_streams(local_server):
    call_id = new_call()
    async with Bot(local_server, call_id) as bot:
        async with (
            Human(local_server, call_id, "alice", tone_hz=440),
            Human(local_server, call_id, "bob", tone_hz=880),
        ):
            await wait_until(
                lambda: all(len(bot.probe.samples(u)) > 16000 for u in ("alice", "bob")), timeout=20
            )
            counts = {u: len(bot.probe.samples(u)) for u in ("alice", "bob")}
            await wait_until(
                lambda: all(len(bot.probe.samples(u)) >= n + 8000 for u, n in counts.items()),
                timeout=10,
            )
            assert abs(dominant_frequency(bot.probe.samples("alice")[-8000:], 16000) - 440) < 10
            assert abs(dominant_frequency(bot.probe.samples("bob")[-8000:], 16000) - 880) < 10


async def test_input_sample_rate_is_honoured(local_server):
    call_id = new_call()
    async with (
        Bot(local_server, call_id, audio_in_sample_rate=24000) as bot,
        Human(local_server, call_id, "alice", tone_hz=500),
    ):
        await wait_until(lambda: len(bot.probe.samples("alice")) > 24000, timeout=20)
        assert bot.probe.audio_rates == {24000}
        assert abs(dominant_frequency(bot.probe.samples("alice")[-12000:], 24000) - 500) < 10


async def test_interruption_silences_the_bot(local_server):
    call_id = new_call()
    async with Bot(local_server, call_id) as bot, Human(local_server, call_id, "alice") as human:
        from pipecat_getstream.pipeline.frames import InterruptionFrame

        await bot.say(tone(440, 10.0, rate=16000))
        heard = human.from_user("pipecat-bot")
        await wait_until(
            lambda: rms(heard.samples(since=time.monotonic() - 0.3)) > 1000, timeout=15
        )
        await wait_until(lambda: len(_loud(heard)) >= 24000, timeout=10)  # half a second
        interrupted_at = time.monotonic()
        await bot.task.queue_frame(InterruptionFrame())
        await wait_until(lambda: len(heard.samples(since=interrupted_at + 0.6)) > 48000)
        # Generous bound here; the benchmark measures the real figure.
        after = heard.samples(since=interrupted_at + 0.6)
        assert len(after) > 48000  # the track keeps sending (silence)
        assert rms(after) < 100
        last = heard.last_loud()
        assert last is not None and last - interrupted_at < 0.6


async def test_video_both_ways(local_server):
    call_id = new_call()
    async with (
        Bot(
            local_server,
            call_id,
            video_in_enabled=True,
            video_out_enabled=True,
            video_out_width=320,
            video_out_height=240,
            video_out_framerate=15,
        ) as bot,
        Human(local_server, call_id, "alice", camera=(256, 192), receive_video=True) as human,
    ):
        from pipecat.frames.frames import OutputImageRawFrame

        image = np.zeros((240, 320, 3), dtype=np.uint8)
        image[:, :, 2] = 200
        await bot.task.queue_frame(OutputImageRawFrame(image.tobytes(), (320, 240), "RGB"))
        await wait_until(lambda: len(human.video_sizes.get("pipecat-bot", [])) > 5, timeout=20)
        assert human.video_sizes["pipecat-bot"][-1] == (320, 240)
        await wait_until(lambda: len(bot.probe.images.get("alice", [])) > 5, timeout=20)
        assert bot.probe.images["alice"][-1] == (256, 192, "RGB")
        # capture_participant_video limits the rate (the camera sends ~30 fps).
        await bot.transport.capture_participant_video("alice", framerate=5)
        await wait_until(lambda: len(bot.probe.images["alice"]) >= 1, timeout=5)
        before, started = len(bot.probe.images["alice"]), time.monotonic()
        await wait_until(lambda: len(bot.probe.images["alice"]) >= before + 6, timeout=10)
        elapsed = time.monotonic() - started
        # 6 images at 5 fps take at least a second (at the camera's 30 fps, 0.2 s): the limit
        # holds. (No upper bound: a loaded machine may deliver them later.)
        assert elapsed >= 0.8, elapsed
