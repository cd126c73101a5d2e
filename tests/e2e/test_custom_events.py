"""Custom events both ways, and Pipecat's transport-message frames."""

import uuid

import pytest

from pipecat_getstream import GetstreamNotConnectedError
from pipecat_getstream.pipeline.frames import (
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
)
from tests.e2e.bot import Bot, wait_until
from tests.e2e.human import Human

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def test_custom_events_both_ways(local_server):
    call_id = f"call-{uuid.uuid4().hex[:10]}"
    async with Bot(local_server, call_id) as bot, Human(local_server, call_id, "alice") as human:
        await wait_until(lambda: bot.fired("on_participant_connected"), timeout=10)
        await bot.transport.send_custom_event({"type": "agent_state", "state": "thinking"})
        await wait_until(
            lambda: any(e.get("custom", {}).get("state") == "thinking" for e in human.custom_events)
        )
        event = next(e for e in human.custom_events if e["custom"].get("state") == "thinking")
        assert event["type"] == "custom" and event["user"]["id"] == "pipecat-bot"

        await human.send_custom({"question": "hello?"})
        await wait_until(lambda: bot.fired("on_stream_custom_event"))
        (received,) = bot.fired("on_stream_custom_event")[0]
        assert received["custom"] == {"question": "hello?"} and received["user"]["id"] == "alice"
        await wait_until(lambda: bot.probe.messages)
        assert bot.probe.messages[0]["custom"] == {"question": "hello?"}
        # The bot's own events are not echoed back to it.
        assert all(
            args[0]["user"]["id"] != "pipecat-bot" for args in bot.fired("on_stream_custom_event")
        )

        await bot.task.queue_frame(OutputTransportMessageFrame(message={"kind": "queued"}))
        await bot.task.queue_frame(OutputTransportMessageUrgentFrame(message={"kind": "urgent"}))
        kinds = lambda: {e["custom"].get("kind") for e in human.custom_events}  # noqa: E731
        await wait_until(lambda: {"queued", "urgent"} <= kinds())

        with pytest.raises(ValueError, match="5120"):
            await bot.transport.send_custom_event({"blob": "x" * 6000})
        before = len(human.custom_events)
        exact = {"k": "x" * (5 * 1024 - len('{"k": ""}'))}
        await bot.transport.send_custom_event(exact)
        await wait_until(lambda: len(human.custom_events) > before)


async def test_sending_while_not_connected_is_an_error(local_server):
    bot = Bot(local_server, f"call-{uuid.uuid4().hex[:10]}")
    with pytest.raises(GetstreamNotConnectedError):
        await bot.transport.send_custom_event({"a": 1})
