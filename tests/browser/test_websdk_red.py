"""GetStream's web SDK in Chromium publishing RFC 2198 redundant audio (RED) to the local SFU.

The call settings' ``redundant_coding_enabled`` (on by default) makes the web SDK announce
``TrackInfo.red`` for its microphone; Chromium offers ``red/48000/2`` beside Opus, the SFU
accepts it, Chromium sends RED, and the SFU unwraps it into the plain Opus a Pipecat bot
(the end-to-end suite's ``GetstreamTransport`` pipeline) receives. With the setting off, the
same call negotiates plain Opus.

The SFU's state is read on the server's own loop (``LocalStreamServer._loop_thread``), the
microphone forwarder's read-only ``red_payload_type`` and ``red_stats``.
"""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
from aiortc.rtp import RtpPacket
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from loguru import logger
from tests.browser.websdk.fixtures import web_server, web_user, websdk_site
from tests.e2e.bot import Bot, wait_until

from pipecat_getstream.testing import LocalStreamServer
from pipecat_getstream.testing.server.coordinator import payloads
from pipecat_getstream.testing.server.coordinator.settings import call_settings
from pipecat_getstream.testing.server.rtp.forwarding import Forwarder
from pipecat_getstream.testing.server.rtp.red import parse_red
from pipecat_getstream.testing.server.sfu import core
from pipecat_getstream.testing.signals import dominant_frequency, rms

__all__ = ["web_server", "web_user", "websdk_site"]

pytestmark = [pytest.mark.timeout(120)]

BROWSER_HZ = 523.0
#: Every this many packets the browser sends, one is dropped on the way into the SFU.
LOSS_EVERY = 10


def new_call() -> str:
    return f"red-{uuid.uuid4().hex[:10]}"


def last_second(bot: Bot, user_id: str) -> np.ndarray:
    rate = max(bot.probe.audio_rates or {16000})
    return bot.probe.samples(user_id)[-rate:]


def on_server(server: LocalStreamServer, read: Callable[[], Any]) -> Any:
    """Run ``read`` on the server's loop (its state belongs to that thread)."""

    async def run() -> Any:
        return read()

    return server._loop_thread.run(run())


def microphone(server: LocalStreamServer, call_id: str, user_id: str) -> Any:
    """The user's microphone ``TrackInfo`` and forwarder in the SFU (``(None, None)`` if none)."""

    def read() -> tuple[models_pb2.TrackInfo | None, Forwarder | None]:
        call = server._state.find_call("default", call_id)
        for session in call.sessions.values() if call is not None else ():
            if session.user_id != user_id or session.gone:
                continue
            infos = [
                i for i in session.tracks.values() if i.track_type == models_pb2.TRACK_TYPE_AUDIO
            ]
            forwarder = session.published.get(models_pb2.TRACK_TYPE_AUDIO)
            return (copy.deepcopy(infos[-1]) if infos else None), forwarder
        return None, None

    return on_server(server, read)


def red_stats(server: LocalStreamServer, forwarder: Forwarder) -> Any:
    return on_server(server, lambda: copy.copy(forwarder.red_stats))


async def hear_the_browser(bot: Bot, user_id: str) -> float:
    """Wait for a second of the browser's loud tone at the bot; return its frequency."""
    await wait_until(lambda: len(last_second(bot, user_id)) > 8000, timeout=20)
    await wait_until(lambda: rms(last_second(bot, user_id)) > 1000, timeout=10)
    rate = max(bot.probe.audio_rates)
    return dominant_frequency(last_second(bot, user_id), rate)


def drop_some(server: LocalStreamServer, forwarder: Forwarder, blocks: Counter[int]) -> list[int]:
    """Drop every ``LOSS_EVERY``-th packet the browser sends before the SFU unwraps it.

    ``blocks`` counts the packets by how many redundant blocks they carry.
    """
    dropped: list[int] = []

    def install() -> None:
        handle: Callable[[RtpPacket], Awaitable[None]] = forwarder.handle
        count = 0

        async def lossy(packet: RtpPacket) -> None:
            nonlocal count
            count += 1
            if packet.payload_type == forwarder.red_payload_type:
                blocks[len(parse_red(packet.payload)[0])] += 1
            if count % LOSS_EVERY == 0:
                dropped.append(packet.sequence_number)
                return
            await handle(packet)

        forwarder.handle = lossy  # type: ignore[method-assign]

    on_server(server, install)
    return dropped


async def test_the_browser_publishes_red_and_the_bot_hears_opus(web_server, web_user):
    call_id = new_call()
    async with Bot(web_server, call_id) as bot:
        browser = await web_user("web-red", wav_freq=BROWSER_HZ)
        await browser.join(call_id, mic=True)
        await wait_until(lambda: microphone(web_server, call_id, "web-red")[1], timeout=20)
        info, forwarder = microphone(web_server, call_id, "web-red")
        # The web SDK asked for RED (the call settings enable it) and the answer accepted it.
        assert info is not None and info.red, info
        assert forwarder.red_payload_type is not None, "the SFU's answer did not accept RED"
        assert forwarder.codec_name == "opus"
        heard = await hear_the_browser(bot, "web-red")
        assert abs(heard - BROWSER_HZ) < 15, heard
        # Chromium really sends RED and the SFU unwrapped it (none malformed).
        await wait_until(lambda: red_stats(web_server, forwarder).packets > 50, timeout=10)
        stats = red_stats(web_server, forwarder)
        assert stats.dropped == 0, stats
        logger.info("RED from the browser: {} ({} packets forwarded)", stats, forwarder.packets)

        # Lose packets on the way in: the redundancy of the next packet restores them.
        blocks: Counter[int] = Counter()
        dropped = drop_some(web_server, forwarder, blocks)
        before = stats.recovered
        await wait_until(lambda: len(dropped) >= 20, timeout=20)
        await wait_until(lambda: red_stats(web_server, forwarder).recovered - before >= 10, 10)
        stats = red_stats(web_server, forwarder)
        logger.info(
            "{} packets dropped, RED after the loss: {}; redundant blocks per packet: {}",
            len(dropped),
            stats,
            dict(blocks),
        )
        assert stats.dropped == 0, stats
        assert sum(n for count, n in blocks.items() if count > 0) > 0, blocks
        heard = dominant_frequency(last_second(bot, "web-red"), max(bot.probe.audio_rates))
        assert abs(heard - BROWSER_HZ) < 15, heard
        assert rms(last_second(bot, "web-red")) > 1000
        assert await browser.sdk_errors() == []


async def test_with_redundant_coding_off_the_browser_publishes_plain_opus(
    web_server, web_user, monkeypatch: pytest.MonkeyPatch
):
    # The server has one set of settings per call type: switch RED off for this test,
    # both where the coordinator reports the settings (the web SDK reads them) and where
    # the SFU reads them.
    def settings_without_red(call_type: str) -> dict[str, Any]:
        settings = call_settings(call_type)
        settings["audio"]["redundant_coding_enabled"] = False
        return settings

    monkeypatch.setattr(payloads, "call_settings", settings_without_red)
    monkeypatch.setattr(core, "call_settings", settings_without_red)
    call_id = new_call()
    async with Bot(web_server, call_id) as bot:
        browser = await web_user("web-plain", wav_freq=BROWSER_HZ)
        await browser.join(call_id, mic=True)
        await wait_until(lambda: microphone(web_server, call_id, "web-plain")[1], timeout=20)
        info, forwarder = microphone(web_server, call_id, "web-plain")
        assert info is not None and not info.red, info
        assert forwarder.red_payload_type is None and forwarder.red_stats is None
        heard = await hear_the_browser(bot, "web-plain")
        assert abs(heard - BROWSER_HZ) < 15, heard
        assert forwarder.red_stats is None
