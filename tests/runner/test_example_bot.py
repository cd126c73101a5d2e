"""The one-command example (examples/runner/bot.py) answers a webhook and echoes a caller."""

from __future__ import annotations

import pytest
from examples.runner.bot import bot as echo_bot

from pipecat_getstream.testing.signals import tone, wait_until
from tests.runner.conftest import BOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


async def test_the_example_bot_echoes_the_caller(agent_server, participants, call_id):
    server, client = await agent_server(bot=echo_bot, webhook_events=("call.session_started",))
    alice = await participants(call_id, "alice")
    assert await wait_until(lambda: server.sessions.live, timeout=15)
    await alice.wait_for_participant(BOT)
    assert await wait_until(lambda: server.sessions.live[0].join_s is not None, timeout=15)
    said = await alice.say(tone(523, 0.8))
    heard = await alice.wait_for_sound(BOT, since=said, timeout=10)
    assert abs(alice.recording(BOT).dominant_frequency(heard) - 523) < 15
