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


def aspect(size: tuple[int, int] | list[int]) -> float:
    return round(size[0] / size[1], 2)


async def test_camera_and_screen_share_published_before_the_bot_joins(web_server, web_user):
    """A bot joining a call where both are already published tells them apart.

    The bot learns of neither from a ``TrackPublished`` event (they are in the join's call
    state), and under the cloud's stream names SDK 7.x types both tracks as video. The
    camera is captured at 4:3 and the fake screen is 16:9; a loaded encoder may scale
    either down, never change its shape, so the shape of each frame says which it is.
    """
    call_id = new_call()
    browser = await web_user("web-dave")
    await browser.join(call_id, mic=False, camera=True)
    await browser.call("setCameraResolution", 640, 480)
    await browser.call("startScreenShare", {"audio": False})
    await browser.wait_for(
        "publishing", lambda senders: sum(s["kind"] == "video" for s in senders) == 2
    )
    sizes = await browser.call("localVideoSizes")
    assert aspect(sizes["camera"]) != aspect(sizes["screen"]), sizes
    sources = {"camera": {"framerate": 5}, "screenVideo": {"framerate": 5}}
    async with Bot(web_server, call_id, video_in_enabled=True, video_in_sources=sources) as bot:

        def shapes(source: str) -> set[float]:
            return {
                aspect(size)
                for user, src, size, _ in bot.probe.image_log
                if user == "web-dave" and src == source
            }

        await wait_until(lambda: shapes("camera") and shapes("screenVideo"), timeout=30)
        await wait_until(lambda: len(bot.probe.image_log) > 20, timeout=30)
        assert shapes("camera") == {aspect(sizes["camera"])}, (shapes("camera"), sizes)
        assert shapes("screenVideo") == {aspect(sizes["screen"])}, (shapes("screenVideo"), sizes)
        assert ("web-dave",) in bot.fired("on_screen_share_track_subscribed")
    assert await browser.sdk_errors() == []
