"""Custom events through the coordinator socket."""

from __future__ import annotations

import time
import uuid

import pytest
from getstream.models import CallRequest

from .sdk_kit import SdkKit, api_error, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


async def test_custom_event_round_trip(sdk: SdkKit) -> None:
    call_id = f"custom-{uuid.uuid4().hex[:8]}"
    alice = sdk.participant(call_id, "alice")
    bob = sdk.participant(call_id, "bob")
    to_bob, to_alice = bob.custom, alice.custom
    async with alice, bob:
        # 3.x-6.x watch the call after their socket connects; 7.x watch with the join.
        assert await wait_for(
            lambda: sorted(sdk.server.watchers("default", call_id)) == ["alice", "bob"], timeout=5
        )
        sent_at = time.perf_counter()
        await sdk.send_custom(call_id, "alice", {"kind": "hello", "n": 1})
        assert await wait_for(lambda: len(to_bob) == 1, timeout=5)
        at, event = to_bob[0]
        assert event["type"] == "custom"
        assert event["custom"] == {"kind": "hello", "n": 1}
        assert event["user"]["id"] == "alice"
        assert event["call_cid"] == f"default:{call_id}"
        assert isinstance(event["created_at"], str)
        print(
            f"\n[local-server {bob.generation}] custom event delivered in "
            f"{(at - sent_at) * 1000:.1f} ms"
        )
        assert await wait_for(lambda: len(to_alice) == 1, timeout=5)  # the sender too

        await sdk.send_custom(call_id, "bob", {"reply": "hi"})
        assert await wait_for(lambda: len(to_alice) == 2, timeout=5)
        assert to_alice[1][1]["custom"] == {"reply": "hi"} and to_alice[1][1]["user"]["id"] == "bob"

        # A dropped coordinator socket: the SDK reconnects and watches the call again.
        (before,) = sdk.server.coordinator_connection_ids("bob")
        assert sdk.server.drop_coordinator_sockets("bob") == 1
        assert sdk.server.watchers("default", call_id) == ["alice"]
        assert await wait_for(
            lambda: (
                sdk.server.coordinator_connection_ids("bob") not in ([], [before])
                and len(sdk.server.watchers("default", call_id)) == 2
            ),
            15,
        )
        await sdk.send_custom(call_id, "alice", {"after": "drop"})
        assert await wait_for(lambda: len(to_bob) == 3, timeout=5)
        assert to_bob[2][1]["custom"] == {"after": "drop"}


async def test_custom_event_over_5kb_is_refused(sdk: SdkKit) -> None:
    call_id = f"custom-big-{uuid.uuid4().hex[:8]}"
    call = sdk.client.video.call("default", call_id)
    await call.get_or_create(data=CallRequest(created_by_id="alice"))
    await call.send_call_event(user_id="alice", custom={"text": "x" * 5000})
    with pytest.raises(Exception) as info:
        await call.send_call_event(user_id="alice", custom={"text": "x" * 5200})
    status, code, message = api_error(info.value)
    assert (status, code) == (400, 4) and "5KB" in message
    assert len(sdk.server.custom_events) == 1
