"""Joining, leaving, the call ending, the REST helper and auth errors against the server."""

import asyncio
import uuid

import jwt
import pytest

from pipecat_getstream import (
    GetstreamConfigError,
    GetstreamConnectionError,
    GetstreamJoinError,
    GetstreamParams,
    GetstreamTransport,
)
from pipecat_getstream.errors import http_status
from pipecat_getstream.utils import GetstreamRESTHelper
from tests.e2e.bot import Bot, wait_until
from tests.e2e.human import Human

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def new_call() -> str:
    return f"call-{uuid.uuid4().hex[:10]}"


async def test_server_ending_the_call_ends_the_pipeline(local_server):
    call_id = new_call()
    bot = await Bot(local_server, call_id).start()
    async with Human(local_server, call_id, "alice"):
        await wait_until(lambda: bot.fired("on_participant_connected"), timeout=10)
        local_server.end_call("default", call_id)
        await bot.wait_finished(timeout=20)
    assert bot.fired("on_call_ended") == [()]
    assert bot.fired("on_disconnected") == [()]


async def test_pipeline_end_makes_the_bot_leave(local_server):
    call_id = new_call()
    async with Human(local_server, call_id, "alice") as human:
        bot = await Bot(local_server, call_id).start()
        await wait_until(lambda: "pipecat-bot" in human.joined_users, timeout=10)
        await bot.stop()  # an EndFrame; a hang fails it
        await wait_until(lambda: "pipecat-bot" in human.left_users, timeout=10)


async def test_quickstart_with_only_base_url_changed(local_server):
    """The spec's quickstart, unchanged but for base_url."""
    from pipecat.frames.frames import EndFrame
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.pipeline.runner import PipelineRunner
    from pipecat.pipeline.task import PipelineParams, PipelineTask

    transport = GetstreamTransport(
        api_key=local_server.api_key,
        api_secret=local_server.api_secret,
        call_type="default",
        call_id=new_call(),
        user_id="pipecat-bot",
        params=GetstreamParams(audio_out_enabled=True, audio_in_enabled=True),
        base_url=local_server.base_url,
    )
    connected = asyncio.Event()

    @transport.event_handler("on_connected")
    async def on_connected(*args):
        connected.set()

    pipeline = Pipeline([transport.input(), transport.output()])
    runner = PipelineRunner(handle_sigint=False)
    task = PipelineTask(pipeline, params=PipelineParams(enable_metrics=True))
    run = asyncio.create_task(runner.run(task))
    await asyncio.wait_for(connected.wait(), 20)
    await task.queue_frame(EndFrame())
    await asyncio.wait_for(run, 20)


async def test_wrong_secret_is_a_clear_error_not_a_hang(local_server):
    transport = GetstreamTransport(
        api_key=local_server.api_key,
        api_secret="definitely-not-the-secret",
        call_type="default",
        call_id=new_call(),
        user_id="pipecat-bot",
        base_url=local_server.base_url,
    )
    with pytest.raises(GetstreamJoinError) as info:
        await asyncio.wait_for(transport.client.connect(), 60)  # a guard against a hang
    assert info.value.cause == "credentials" and info.value.status_code in (401, 403)
    assert "definitely-not-the-secret" not in str(info.value)
    # The failure is final: a second connect raises it again at once, without a new attempt.
    with pytest.raises(GetstreamJoinError) as again:
        await transport.client.connect()
    assert again.value is info.value


async def test_token_auth_joins(local_server):
    from pipecat_getstream.stacks import supports_token_auth

    if not supports_token_auth():
        pytest.skip("token-only clients need getstream>=3.5")
    token = jwt.encode({"user_id": "token-bot"}, local_server.api_secret, algorithm="HS256")
    transport = GetstreamTransport(
        api_key=local_server.api_key,
        api_secret=None,
        token=token,
        call_type="default",
        call_id=new_call(),
        user_id="token-bot",
        base_url=local_server.base_url,
    )
    await transport.client.connect()
    try:
        assert transport.client.connected
    finally:
        await transport.client.close()


async def test_rest_helper_against_the_server(local_server):
    helper = GetstreamRESTHelper(
        local_server.api_key, local_server.api_secret, base_url=local_server.base_url
    )
    user = await helper.create_user("demo-user", name="Demo User")
    assert user["id"] == "demo-user"
    call_id = new_call()
    call = await helper.create_call("default", call_id, created_by_id="demo-user")
    assert call["id"] == call_id and call["type"] == "default"
    token = helper.create_token("demo-user", expiration=3600)
    # The server accepts the minted token: a human joins with it.
    from getstream import AsyncStream

    from pipecat_getstream.stacks import supports_token_auth

    if supports_token_auth():
        client = AsyncStream(
            api_key=local_server.api_key, token=token, base_url=local_server.base_url
        )
        response = await client.video.call("default", call_id).get()
        assert response.data.call.id == call_id
    await helper.delete_call("default", call_id)
    bad = GetstreamRESTHelper(local_server.api_key, "wrong-secret", base_url=local_server.base_url)
    with pytest.raises(GetstreamConnectionError):
        await bad.create_user("demo-user")


@pytest.mark.parametrize("status", [500, 503, 429, 403])
async def test_rest_helper_reports_server_errors_clearly(local_server, status):
    helper = GetstreamRESTHelper(
        local_server.api_key, local_server.api_secret, base_url=local_server.base_url
    )
    call_id = new_call()
    local_server.fail_next_requests(2, status)
    with pytest.raises(GetstreamConnectionError) as user_error:
        await helper.create_user("demo-user")
    with pytest.raises(GetstreamConnectionError) as call_error:
        await helper.create_call("default", call_id, created_by_id="demo-user")
    for error, action in ((user_error, "create_user"), (call_error, "create_call")):
        assert f"{action} failed (HTTP {status})" in str(error.value)
        assert http_status(error.value) == status
        assert local_server.api_secret not in str(error.value)
    # The failure window is over: the same helper works again, and nothing half-happened.
    assert f"default:{call_id}" not in local_server.calls()
    assert (await helper.create_user("demo-user"))["id"] == "demo-user"
    assert (await helper.create_call("default", call_id, created_by_id="demo-user"))["id"] == (
        call_id
    )


async def test_rest_helper_rejects_bad_input_before_any_request(local_server):
    helper = GetstreamRESTHelper(
        local_server.api_key, local_server.api_secret, base_url=local_server.base_url
    )
    with pytest.raises(GetstreamConfigError, match="user_id"):
        await helper.create_user("bad user!")
    with pytest.raises(GetstreamConfigError, match="call_id"):
        await helper.create_call("default", "", created_by_id="demo-user")
    with pytest.raises(GetstreamConfigError, match="call_type"):
        await helper.create_call("no such/type", new_call(), created_by_id="demo-user")
    with pytest.raises(GetstreamConfigError, match="expiration"):
        helper.create_token("demo-user", expiration=-5)
    assert not [cid for cid in local_server.calls() if cid.startswith("no such")]
