"""Coordinator REST calls made through the SDK's own clients."""

from __future__ import annotations

import uuid

import pytest
from getstream import AsyncStream, Stream
from getstream.models import CallRequest, UserRequest

from pipecat_getstream.testing import LocalStreamServer

from .sdk_kit import SdkKit, api_error

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]


async def test_users_and_call_lifecycle(sdk: SdkKit) -> None:
    client: AsyncStream = sdk.client
    await client.upsert_users(UserRequest(id="alice", name="Alice", custom={"team": "a"}))
    call_id = f"rest-{uuid.uuid4().hex[:8]}"
    call = client.video.call("default", call_id)

    created = await call.get_or_create(data=CallRequest(created_by_id="alice", custom={"k": 1}))
    assert created.data.created is True
    assert created.data.call.cid == f"default:{call_id}"
    assert created.data.call.created_by.name == "Alice"
    again = await call.get_or_create(data=CallRequest(created_by_id="alice"))
    assert again.data.created is False

    fetched = await call.get()
    assert fetched.data.call.custom == {"k": 1}
    assert fetched.data.call.created_at is not None

    await call.delete()
    with pytest.raises(Exception) as info:
        await call.get()
    assert api_error(info.value)[:2] == (404, 16)
    assert f"default:{call_id}" not in sdk.server.calls()


async def test_server_side_create_needs_a_creator(sdk: SdkKit) -> None:
    call = sdk.client.video.call("default", f"rest-{uuid.uuid4().hex[:8]}")
    with pytest.raises(Exception) as info:
        await call.get_or_create()
    assert api_error(info.value)[:2] == (400, 4)


def test_sync_client_and_sync_server_lifecycle() -> None:
    with LocalStreamServer() as server:
        client = Stream(
            api_key=server.api_key, api_secret=server.api_secret, base_url=server.base_url
        )
        call = client.video.call("audio_room", "sync-call")
        call.get_or_create(data=CallRequest(created_by_id="bob"))
        assert server.calls() == ["audio_room:sync-call"]
    assert not server.running
