"""Every transport event fires with the right participant id, through the real server."""

import uuid

import pytest

from tests.e2e.bot import Bot, wait_until
from tests.e2e.human import Human

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def test_participant_lifecycle_events(local_server):
    call_id = f"call-{uuid.uuid4().hex[:10]}"
    bot = await Bot(local_server, call_id, video_in_enabled=True).start()
    try:
        assert bot.fired("on_connected") == [()]
        alice = await Human(local_server, call_id, "alice", tone_hz=440, camera=(160, 120)).join()
        await wait_until(lambda: bot.fired("on_video_track_subscribed"), timeout=15)
        await wait_until(lambda: bot.fired("on_audio_track_subscribed"), timeout=15)
        assert bot.fired("on_participant_connected") == [("alice",)]
        assert bot.fired("on_first_participant_joined") == [("alice",)]
        assert bot.fired("on_client_connected") == [("alice",)]
        assert bot.fired("on_audio_track_subscribed") == [("alice",)]
        assert bot.fired("on_video_track_subscribed") == [("alice",)]
        assert bot.transport.get_participants() == ["alice"]

        bob = await Human(local_server, call_id, "bob").join()
        await wait_until(lambda: ("bob",) in bot.fired("on_participant_connected"), timeout=10)
        assert bot.fired("on_first_participant_joined") == [("alice",)]  # not again
        assert sorted(bot.transport.get_participants()) == ["alice", "bob"]

        await alice.leave()
        await wait_until(
            lambda: bot.fired("on_participant_left") == [("alice", "left")], timeout=10
        )
        assert bot.fired("on_participant_disconnected") == [("alice",)]
        assert bot.fired("on_client_disconnected") == [("alice",)]
        assert bot.fired("on_audio_track_unsubscribed") == [("alice",)]
        assert bot.fired("on_video_track_unsubscribed") == [("alice",)]
        names = [n for n, _ in bot.events]
        # Leaving fires the unsubscribes before the participant is gone.
        assert names.index("on_audio_track_unsubscribed") < names.index("on_participant_left")

        await bob.leave()
        await wait_until(lambda: ("bob", "left") in bot.fired("on_participant_left"), timeout=10)
        assert bot.transport.get_participants() == []

        # Rejoin: a new join, and the call went empty -> occupied again.
        alice2 = await Human(local_server, call_id, "alice", tone_hz=440).join()
        await wait_until(lambda: len(bot.fired("on_participant_connected")) == 3, timeout=10)
        assert bot.fired("on_first_participant_joined") == [("alice",), ("alice",)]
        await wait_until(lambda: len(bot.fired("on_audio_track_subscribed")) == 2, timeout=10)
        await alice2.leave()
    finally:
        await bot.stop()
    assert bot.fired("on_before_disconnect") == [()]
    assert bot.fired("on_disconnected") == [()]
    names = [n for n, _ in bot.events]
    assert names.index("on_before_disconnect") < names.index("on_disconnected")


async def test_participant_present_before_the_bot_is_reported(local_server):
    call_id = f"call-{uuid.uuid4().hex[:10]}"
    async with Human(local_server, call_id, "early", tone_hz=330):
        await wait_until(lambda: local_server.participants("default", call_id) == ["early"])
        async with Bot(local_server, call_id) as bot:
            await wait_until(
                lambda: bot.fired("on_audio_track_subscribed") == [("early",)], timeout=15
            )
            assert bot.fired("on_first_participant_joined") == [("early",)]
            await wait_until(lambda: len(bot.probe.samples("early")) > 8000, timeout=15)
