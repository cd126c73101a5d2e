"""Screen share in on the 3.x-6.x stack, from a 7.x participant in its own process.

No 3.x-6.x participant can publish a screen share, so the sender is ``tests/server/peer.py``
run by the project's 7.x environment (``.venv``); the bot runs on this environment's SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pipecat_getstream.stacks import stack_name
from tests.e2e.bot import Bot, wait_until
from tests.server.peer_process import ROOT, run_peer

SDK7_PYTHON = ROOT / ".venv" / "bin" / "python"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(180),
    pytest.mark.skipif(stack_name() != "aiortc", reason="the 3.x-6.x stack's receiving side"),
    pytest.mark.skipif(not SDK7_PYTHON.exists(), reason="needs the project's 7.x env (.venv)"),
]


@contextlib.asynccontextmanager
async def screen_sharer(server: Any, call_id: str, log: Path) -> AsyncIterator[None]:
    """A 7.x participant "sharer" publishing a 320x240 camera and a 640x360 screen share."""
    args = [
        f"--base-url={server.base_url}",
        f"--ws-url={server.coordinator_ws_url}",
        f"--api-key={server.api_key}",
        f"--api-secret={server.api_secret}",  # with "=": a value may start with "-"
        *("--call-id", call_id, "--user-id", "sharer", "--peer", "pipecat-bot"),
        *("--screen-share", "640x360", "--seconds", "60"),
    ]
    async with run_peer(SDK7_PYTHON, args, log) as peer:
        ready = await peer.next_event(timeout=120)  # a cold import can be slow
        assert ready["event"] == "ready", ready
        yield


def sizes(bot: Bot, source: str) -> set[tuple[int, int]]:
    return {size for u, s, size, _ in bot.probe.image_log if s == source}


async def test_aiortc_bot_receives_camera_and_screen_share_as_two_sources(local_server, tmp_path):
    call_id = f"screen6-{uuid.uuid4().hex[:8]}"
    sources = {"camera": {"framerate": 10}, "screenVideo": {"framerate": 10}}
    async with (
        Bot(local_server, call_id, video_in_enabled=True, video_in_sources=sources) as bot,
        screen_sharer(local_server, call_id, tmp_path / "peer.log"),
    ):
        await wait_until(lambda: sizes(bot, "camera") and sizes(bot, "screenVideo"), 30)
        await asyncio.sleep(1.0)
        assert sizes(bot, "camera") == {(320, 240)}
        assert sizes(bot, "screenVideo") == {(640, 360)}
        assert ("sharer",) in bot.fired("on_screen_share_track_subscribed")
        assert {u for u, *_ in bot.probe.image_log} == {"sharer"}


async def test_aiortc_bot_subscribes_to_screen_share_when_captured(local_server, tmp_path):
    call_id = f"screen6-{uuid.uuid4().hex[:8]}"
    async with (
        Bot(local_server, call_id, video_in_enabled=True) as bot,
        screen_sharer(local_server, call_id, tmp_path / "peer.log"),
    ):
        await wait_until(lambda: sizes(bot, "camera"), 30)
        await asyncio.sleep(1.0)
        assert not sizes(bot, "screenVideo")
        await bot.transport.capture_participant_video("sharer", 5, "screenVideo")
        await wait_until(lambda: sizes(bot, "screenVideo") == {(640, 360)}, 30)
