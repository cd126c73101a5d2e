"""Fixtures of the runner's tests: an agent server on the test's loop, wired to a fresh
local GetStream server (signed webhooks go to the agent server), and participants."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from pipecat_getstream.runner import AgentServer, RunnerConfig
from pipecat_getstream.testing import LocalStreamServer, SimulatedParticipant
from tests.runner.bots import bot

TOKEN = "test-token-" + "x" * 24
BOT = "pipecat-bot"


@pytest.fixture
def call_id() -> str:
    return f"runner-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def agent_server(
    local_server: LocalStreamServer,
) -> AsyncIterator[Callable[..., Awaitable[tuple[AgentServer, httpx.AsyncClient]]]]:
    """``await agent_server(**settings)``: a served AgentServer and a client with the token."""
    started: list[tuple[AgentServer, asyncio.Task[int], httpx.AsyncClient]] = []

    async def make(**settings: Any) -> tuple[AgentServer, httpx.AsyncClient]:
        settings.setdefault("auth_token", TOKEN)
        # Webhooks start nothing unless a test asks (a participant's join starts a session).
        settings.setdefault("webhook_events", ())
        # Long enough for a pipeline's EndFrame and the SDK's leave (~2.3 s on a loaded
        # machine): cancelling a transport in the middle of its leave can leave a task behind.
        settings.setdefault("stop_grace_s", 3.0)
        serve = settings.pop("bot", bot)
        warmup = settings.pop("warmup", None)
        config = RunnerConfig(
            api_key=local_server.api_key,
            api_secret=local_server.api_secret,
            base_url=local_server.base_url,
            port=0,
            **settings,
        )
        server = AgentServer(serve, config, warmup=warmup)
        task = asyncio.create_task(server.serve(handle_signals=False))
        while server.url is None:
            assert not task.done(), task
            await asyncio.sleep(0.01)
        local_server.webhook_url = f"{server.url}/webhooks/getstream"
        client = httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )
        started.append((server, task, client))
        return server, client

    try:
        yield make
    finally:
        local_server.webhook_url = None
        for server, task, client in started:
            await client.aclose()
            server.shutdown()
            await asyncio.wait_for(task, 30)


@pytest.fixture
def getstream_server(local_server: LocalStreamServer) -> LocalStreamServer:
    """The plugin's participants join this test's own server (webhooks are per server)."""
    return local_server


@pytest.fixture
def participants(simulated_participant: Callable[..., Awaitable[SimulatedParticipant]]):
    """``await participants(call_id, user_id)``: the plugin's factory on ``local_server``."""
    return simulated_participant
