"""GetStream's web SDK in Chromium and a Pipecat bot in one call: audio, video, screen share.

The browser is a real Stream web app (``@stream-io/video-client``, fetched at test time) on
its own origin, with a WAV tone as its microphone and Chromium's fake camera; the bot is the
end-to-end suite's ``GetstreamTransport`` pipeline on this venv's SDK stack.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from pipecat.frames.frames import OutputImageRawFrame
from tests.browser.websdk.fixtures import web_server, web_user, websdk_site
from tests.e2e.bot import Bot, wait_until

from pipecat_getstream.testing.signals import dominant_frequency, rms, tone

__all__ = ["web_server", "web_user", "websdk_site"]

pytestmark = [pytest.mark.timeout(120)]

BROWSER_HZ = 440.0
BOT_HZ = 660.0


def new_call() -> str:
    return f"web-{uuid.uuid4().hex[:10]}"


def last_second(bot: Bot, user_id: str) -> np.ndarray:
    rate = max(bot.probe.audio_rates or {16000})
    return bot.probe.samples(user_id)[-rate:]


async def test_bot_and_browser_hear_each_other(web_server, web_user):
    call_id = new_call()
    async with Bot(web_server, call_id) as bot:
        browser = await web_user("web-alice", wav_freq=BROWSER_HZ)
        await browser.join(call_id, mic=True)
        # The bot hears the browser's microphone, as its user id.
        await wait_until(lambda: len(last_second(bot, "web-alice")) > 8000, timeout=20)
        await wait_until(lambda: rms(last_second(bot, "web-alice")) > 1000, timeout=10)
        rate = max(bot.probe.audio_rates)
        heard = dominant_frequency(last_second(bot, "web-alice"), rate)
        assert abs(heard - BROWSER_HZ) < 15, heard
        # The browser hears the bot (a WebAudio analyser on the SDK's remote stream).
        await bot.say(tone(BOT_HZ, 3.0, rate=16000), rate=16000)
        levels = await browser.wait_for(
            "audioLevels",
            lambda v: v.get("pipecat-bot", {}).get("rms", 0) > 0.02,
            timeout=15,
        )
        assert abs(levels["pipecat-bot"]["frequency"] - BOT_HZ) < 15, levels


async def test_camera_and_bot_video_both_ways(web_server, web_user):
    call_id = new_call()
    params = {
        "video_in_enabled": True,
        "video_out_enabled": True,
        "video_out_width": 320,
        "video_out_height": 240,
        "video_out_framerate": 15,
    }
    async with Bot(web_server, call_id, **params) as bot:
        browser = await web_user("web-bob")
        await browser.join(call_id, mic=False, camera=True)
        image = np.zeros((240, 320, 3), dtype=np.uint8)
        image[:, :, 2] = 200
        await bot.task.queue_frame(OutputImageRawFrame(image.tobytes(), (320, 240), "RGB"))
        # The bot sees the browser's (fake) camera.
        await wait_until(lambda: len(bot.probe.images.get("web-bob", [])) > 5, timeout=20)
        width, height, _ = bot.probe.images["web-bob"][-1]
        assert width >= 160 and height >= 120, bot.probe.images["web-bob"][-1]
        # The browser renders the bot's video at the size the bot sends.
        stats = await browser.wait_for(
            "videoStats",
            lambda v: v.get("pipecat-bot/videoTrack", {}).get("frames", 0) > 10,
            timeout=20,
        )
        bot_video = stats["pipecat-bot/videoTrack"]
        assert (bot_video["width"], bot_video["height"]) == (320, 240), stats
        # The server lists one camera option for a web client, so the browser encodes its
        # camera once (it adds a transceiver per option), in the server's preferred codec.
        video = [s for s in await browser.call("publishing") if s["kind"] == "video"]
        assert [s["codec"] for s in video] == ["video/VP9"], video
        assert await browser.sdk_errors() == []
