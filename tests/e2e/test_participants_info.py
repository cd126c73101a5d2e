"""Who is in the call, why they left, who speaks, and the bot's own identity, end to end."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import pytest
from getstream import AsyncStream
from getstream.models import UserRequest

from pipecat_getstream.people.participant_info import ParticipantInfo
from pipecat_getstream.stacks import stack_name
from pipecat_getstream.testing import LocalStreamServer
from tests.e2e.bot import Bot, wait_until
from tests.e2e.human import Human

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def new_call() -> str:
    return f"call-{uuid.uuid4().hex[:10]}"


def left(bot: Bot, user_id: str) -> list[str]:
    """The reasons ``on_participant_left`` gave for ``user_id``."""
    return [args[1] for args in bot.fired("on_participant_left") if args[0] == user_id]


@contextlib.asynccontextmanager
async def server_client(server: Any) -> Any:
    rest = AsyncStream(
        api_key=server.api_key, api_secret=server.api_secret, base_url=server.base_url
    )
    try:
        yield rest
    finally:
        with contextlib.suppress(Exception):
            await rest.aclose()


async def test_leave_reasons_left_removed_and_call_ended(local_server):
    call_id = new_call()
    bot = Bot(local_server, call_id)
    short_form: list[str] = []

    # A handler written before on_participant_left had a reason still works.
    @bot.transport.event_handler("on_participant_left")
    async def old_style(transport: Any, participant_id: str) -> None:
        short_form.append(participant_id)

    await bot.start()
    try:
        alice = await Human(local_server, call_id, "alice").join()
        mallory = await Human(local_server, call_id, "mallory").join()
        carol = await Human(local_server, call_id, "carol").join()
        await wait_until(lambda: len(bot.transport.get_participants()) == 3, timeout=15)

        await alice.leave()
        left_at = time.monotonic()  # (3.x-6.x: leave() itself takes ~2 s)
        await wait_until(lambda: left(bot, "alice") == ["left"], timeout=10)
        # The coordinator's reason arrives with the departure: no waiting for it.
        assert time.monotonic() - left_at < 1.5 + (1.0 if stack_name() == "rust" else 0)

        assert local_server.remove_participant("default", call_id, "mallory") == 1
        await wait_until(lambda: left(bot, "mallory") == ["removed"], timeout=10)
        await mallory.leave()

        assert local_server.end_call("default", call_id)
        await wait_until(lambda: left(bot, "carol") == ["call_ended"], timeout=10)
        await bot.wait_finished(15)  # the call ended: the pipeline ends
        await carol.leave()
    finally:
        await bot.stop()
    assert short_form == ["alice", "mallory", "carol"]


async def test_leave_reason_timeout_when_a_participant_vanishes():
    async with LocalStreamServer(fast_reconnect_deadline_s=2) as server:
        call_id = new_call()
        async with Bot(server, call_id) as bot:
            ghost = await Human(server, call_id, "ghost", tone_hz=440).join()
            await wait_until(lambda: bot.fired("on_audio_track_subscribed"), timeout=15)
            assert server.cut_off_participant("ghost") == 1
            vanished = time.monotonic()
            await wait_until(lambda: left(bot, "ghost") == ["timeout"], timeout=20)
            assert time.monotonic() - vanished >= 1.5  # after the server's deadline
            assert bot.fired("on_audio_track_unsubscribed") == [("ghost",)]
            server.restore_participant("ghost")
            await ghost.leave()


async def test_get_participant_and_participant_updated(local_server):
    call_id = new_call()
    async with Bot(local_server, call_id) as bot, server_client(local_server) as rest:
        alice = await Human(local_server, call_id, "alice", tone_hz=440).join()
        try:
            await wait_until(lambda: bot.transport.get_participant("alice") is not None)
            await wait_until(
                lambda: "microphone" in bot.transport.get_participant("alice").published_tracks,
                timeout=15,
            )
            info = bot.transport.get_participant("alice")
            assert isinstance(info, ParticipantInfo)
            assert info.user_id == "alice" and info.session_id
            assert info.roles == ("user",)
            # Publishing the microphone was an update.
            await wait_until(lambda: ("alice",) in bot.fired("on_participant_updated"))
            assert bot.transport.get_participant("nobody") is None

            updates = len(bot.fired("on_participant_updated"))
            await rest.upsert_users(
                UserRequest(
                    id="alice",
                    name="Alice Liddell",
                    image="https://example.invalid/alice.png",
                    custom={"team": "blue"},
                )
            )
            await wait_until(lambda: len(bot.fired("on_participant_updated")) > updates)
            await wait_until(lambda: bot.transport.get_participant("alice").name == "Alice Liddell")
            info = bot.transport.get_participant("alice")
            assert info.image == "https://example.invalid/alice.png"
            assert info.custom == {"team": "blue"}
            assert "microphone" in info.published_tracks
        finally:
            await alice.leave()
        await wait_until(lambda: left(bot, "alice") == ["left"])
        assert bot.transport.get_participant("alice") is None


async def test_active_speaker_follows_who_talks(local_server):
    call_id = new_call()
    async with Bot(local_server, call_id) as bot:
        quiet = await Human(local_server, call_id, "quiet").join()
        alice = await Human(local_server, call_id, "alice", tone_hz=440).join()
        try:
            await wait_until(
                lambda: ("alice",) in bot.fired("on_active_speaker_changed"), timeout=15
            )
            await wait_until(lambda: bot.transport.get_participant("alice") is not None)
            assert bot.transport.get_participant("alice").speaking
            assert not bot.transport.get_participant("quiet").speaking
            await alice.leave()
            bob = await Human(local_server, call_id, "bob", tone_hz=550).join()
            await wait_until(
                lambda: bot.fired("on_active_speaker_changed")[-1:] == [("bob",)], timeout=15
            )
            assert bot.transport.get_participant("bob").speaking
            assert ("quiet",) not in bot.fired("on_active_speaker_changed")
            await bob.leave()
        finally:
            await quiet.leave()


async def test_user_name_is_shown_and_the_bot_user_and_call_are_made(local_server):
    call_id = new_call()
    human = await Human(local_server, call_id, "alice").join()
    try:
        options = {"user_name": "Helper Bot"}
        async with Bot(local_server, call_id, transport_options=options):
            await wait_until(
                lambda: human.kit.names().get("pipecat-bot") == "Helper Bot", timeout=15
            )
        log = local_server.rest_log
        assert ("upsert_users", {"id": "pipecat-bot", "name": "Helper Bot"}) in log
        cid = f"default:{call_id}"
        assert ("get_or_create", {"cid": cid, "created_by_id": "pipecat-bot"}) in log
    finally:
        await human.leave()


async def test_a_token_bot_skips_the_user_upsert_and_get_or_create(local_server):
    from pipecat_getstream.stacks import supports_token_auth

    if not supports_token_auth():
        pytest.skip("token-only clients need getstream>=3.5")
    import jwt

    call_id = new_call()
    token = jwt.encode({"user_id": "token-bot"}, local_server.api_secret, algorithm="HS256")
    before = len(local_server.rest_log)
    async with Bot(local_server, call_id, user_id="token-bot", transport_options={"token": token}):
        await asyncio.sleep(0.3)
    made = local_server.rest_log[before:]
    assert not [e for e in made if e[0] == "upsert_users"]
    assert not [e for e in made if e[1].get("created_by_id") == "token-bot"]
