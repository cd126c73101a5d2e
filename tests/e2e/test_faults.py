"""Network faults injected by LocalStreamServer: survived, media back, events in order."""

import asyncio
import time
import uuid

import pytest

from pipecat_getstream import GetstreamConnectionError
from pipecat_getstream.testing import LocalStreamServer
from pipecat_getstream.testing.signals import rms, tone
from tests.e2e.bot import Bot, wait_until
from tests.e2e.human import Human

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]


def new_call() -> str:
    return f"call-{uuid.uuid4().hex[:10]}"


async def _media_flows_both_ways(bot: Bot, human: Human, user: str = "alice") -> None:
    """The bot hears the human's tone, and the human hears a fresh 2 s tone from the bot."""
    await bot.say(tone(660, 2.0, rate=16000))
    before = len(bot.probe.samples(user))
    await wait_until(lambda: len(bot.probe.samples(user)) - before > 16000, timeout=20)
    heard = human.from_user("pipecat-bot")
    await wait_until(lambda: rms(heard.samples(since=time.monotonic() - 0.3)) > 1000, timeout=20)


@pytest.mark.parametrize("deadline", [10, 0], ids=["fast-reconnect", "full-rejoin"])
async def test_sfu_socket_drop_mid_utterance(deadline):
    async with LocalStreamServer(fast_reconnect_deadline_s=deadline) as server:
        call_id = new_call()
        async with (
            Bot(server, call_id) as bot,
            Human(server, call_id, "alice", tone_hz=440) as human,
        ):
            await _media_flows_both_ways(bot, human)
            assert server.drop_sfu_socket("pipecat-bot") == 1
            await wait_until(lambda: bot.fired("on_reconnected"), timeout=20)
            await _media_flows_both_ways(bot, human)
            names = [n for n, _ in bot.events]
            assert names.index("on_reconnecting") < names.index("on_reconnected")
            # Full frame rate after the reconnect: the SDK's restored sender must not split the
            # bot's frames with the old one (each would get every other 20 ms frame).
            heard = human.from_user("pipecat-bot")
            await bot.say(tone(660, 3.0, rate=16000))
            await asyncio.sleep(2.5)
            now = time.monotonic()
            frames = [t for t, _ in heard.chunks if now - 2.0 <= t < now]
            assert len(frames) >= 90, (
                len(frames),
                {k: len(v.chunks) for k, v in human.heard.items()},
            )  # 50 frames/s
            # The participant never left from the bot's point of view, and vice versa.
            assert bot.fired("on_participant_left") == []
            assert bot.transport.get_participants() == ["alice"]


async def test_repeated_drops_always_recover(local_server):
    call_id = new_call()
    async with (
        Bot(local_server, call_id) as bot,
        Human(local_server, call_id, "alice", tone_hz=440) as human,
    ):
        await _media_flows_both_ways(bot, human)
        for i in range(5):
            local_server.drop_sfu_socket("pipecat-bot")
            await wait_until(lambda i=i: len(bot.fired("on_reconnected")) > i, timeout=20)
            await _media_flows_both_ways(bot, human)


async def test_human_socket_drop_keeps_the_participant(local_server):
    call_id = new_call()
    async with (
        Bot(local_server, call_id) as bot,
        Human(local_server, call_id, "alice", tone_hz=440) as human,
    ):
        await _media_flows_both_ways(bot, human)
        local_server.drop_sfu_socket("alice")
        await asyncio.sleep(1.0)
        await _media_flows_both_ways(bot, human)
        assert bot.fired("on_participant_left") == []


async def test_coordinator_drop_custom_events_flow_again(local_server):
    call_id = new_call()
    async with Bot(local_server, call_id) as bot, Human(local_server, call_id, "alice") as human:
        await human.send_custom({"n": 1})
        await wait_until(lambda: len(bot.fired("on_stream_custom_event")) == 1, timeout=10)
        assert local_server.drop_coordinator_sockets("pipecat-bot") >= 1
        received = lambda: [a[0]["custom"].get("n") for a in bot.fired("on_stream_custom_event")]  # noqa: E731

        async def resend_until_seen() -> None:
            for n in range(2, 40):
                await human.send_custom({"n": n})
                await asyncio.sleep(0.5)
                if len(received()) > 1:
                    return

        await asyncio.wait_for(resend_until_seen(), 30)
        # The bot can send again too.
        await bot.transport.send_custom_event({"after": "reconnect"})
        await wait_until(
            lambda: any(e["custom"].get("after") for e in human.custom_events), timeout=10
        )


async def test_join_retries_server_errors_then_fails_clearly(local_server):
    local_server.fail_next_joins(2, status=503)
    async with Bot(local_server, new_call()) as bot:
        assert bot.transport.client.connected  # third attempt succeeded

    local_server.fail_next_joins(10, status=502)
    bot = Bot(local_server, new_call())
    started = time.monotonic()
    with pytest.raises(GetstreamConnectionError, match="502"):
        await bot.transport.client.connect()
    assert time.monotonic() - started < 10
    local_server.fail_next_joins(0)


async def test_packet_loss_survived_and_speech_resumes(local_server):
    call_id = new_call()
    async with (
        Bot(local_server, call_id) as bot,
        Human(local_server, call_id, "alice", tone_hz=440) as human,
    ):
        await _media_flows_both_ways(bot, human)
        local_server.set_media_faults(drop_fraction=0.05)
        try:
            for _ in range(5):
                await bot.say(tone(660, 2.0, rate=16000))
                await asyncio.sleep(2)
            assert bot.transport.client.connected
        finally:
            local_server.set_media_faults()
        await _media_flows_both_ways(bot, human)
        # The probe pipeline keeps up: nothing was dropped and almost nothing waits (the
        # feed's cap, 100 frames, would hide a backlog).
        feed = bot.transport.input().audio_feed
        assert feed.dropped == 0 and feed.waiting < 10, (feed.dropped, feed.waiting)


async def test_unreachable_base_url_fails_clearly():
    from pipecat_getstream import GetstreamTransport

    transport = GetstreamTransport(
        api_key="key",
        api_secret="secret",
        call_type="default",
        call_id=new_call(),
        user_id="pipecat-bot",
        base_url="http://127.0.0.1:9",
    )
    started = time.monotonic()
    with pytest.raises(GetstreamConnectionError, match="127.0.0.1:9"):
        await transport.client.connect()
    assert time.monotonic() - started < 15


async def test_unknown_call_type_is_refused(local_server):
    from pipecat_getstream import GetstreamTransport

    transport = GetstreamTransport(
        api_key=local_server.api_key,
        api_secret=local_server.api_secret,
        call_type="no_such_type",
        call_id=new_call(),
        user_id="pipecat-bot",
        base_url=local_server.base_url,
    )
    started = time.monotonic()
    with pytest.raises(GetstreamConnectionError, match="HTTP 4"):
        await transport.client.connect()
    assert time.monotonic() - started < 5  # a 4xx is not retried
