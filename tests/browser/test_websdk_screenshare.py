"""A screen share from GetStream's web SDK in Chromium reaches the bot as ``screenVideo``.

Chromium's fake capture stands in for the screen (``getDisplayMedia`` is accepted without a
prompt); the SDK publishes it as ``TRACK_TYPE_SCREEN_SHARE`` (with the tab's audio as
``TRACK_TYPE_SCREEN_SHARE_AUDIO``, the SDK's default).
"""

from __future__ import annotations

import uuid

import pytest
from tests.browser.websdk.fixtures import web_server, web_user, websdk_site
from tests.e2e.bot import Bot, wait_until

__all__ = ["web_server", "web_user", "websdk_site"]

pytestmark = [pytest.mark.timeout(120)]


def new_call() -> str:
    return f"web-{uuid.uuid4().hex[:10]}"


async def test_screen_share_reaches_the_bot_as_screen_video(web_server, web_user):
    call_id = new_call()
    sources = {"camera": {"framerate": 5}, "screenVideo": {"framerate": 5}}
    async with Bot(web_server, call_id, video_in_enabled=True, video_in_sources=sources) as bot:
        browser = await web_user("web-carol")
        await browser.join(call_id, mic=False, camera=False)
        await browser.call("startScreenShare")  # with its audio, the SDK's default

        def screen_images() -> list[tuple[int, int]]:
            return [
                size
                for user, source, size, _ in bot.probe.image_log
                if user == "web-carol" and source == "screenVideo"
            ]

        await wait_until(lambda: len(screen_images()) > 2, timeout=20)
        assert ("web-carol",) in bot.fired("on_screen_share_track_subscribed")
        cameras = [e for e in bot.probe.image_log if e[0] == "web-carol" and e[1] == "camera"]
        assert not cameras, "a screen share must not arrive as the camera"
        await browser.call("stopScreenShare")
        await wait_until(lambda: bot.fired("on_screen_share_track_unsubscribed"), timeout=15)
        assert await browser.sdk_errors() == []
