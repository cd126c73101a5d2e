"""The local server's webhooks, as a receiver sees them: the cloud's headers, a signature
the SDK verifies, and the fields the SDK's event models require, in a call's order.

(The models' own ``from_dict`` takes datetimes as unix nanoseconds only; events carry RFC 3339
strings, as the cloud's do, so the test checks the fields rather than decoding.)"""

from __future__ import annotations

import dataclasses
import json

import pytest
from aiohttp import web
from getstream.models import (
    CallEndedEvent,
    CallSessionEndedEvent,
    CallSessionParticipantJoinedEvent,
    CallSessionStartedEvent,
)
from getstream.webhook import verify_webhook_signature

from pipecat_getstream.testing.signals import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

MODELS = {
    "call.session_started": CallSessionStartedEvent,
    "call.session_participant_joined": CallSessionParticipantJoinedEvent,
    "call.session_ended": CallSessionEndedEvent,
    "call.ended": CallEndedEvent,
}


async def test_a_call_sends_signed_session_webhooks(local_server, participants, call_id):
    received: list[tuple[dict, dict]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append((dict(request.headers), json.loads(await request.read())))
        assert verify_webhook_signature(
            await request.read(), request.headers["X-Signature"], local_server.api_secret
        )
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    local_server.webhook_url = f"http://127.0.0.1:{port}/hook"
    try:
        alice = await participants(call_id, "alice")
        await participants(call_id, "bob")
        await alice.send_event({"hello": "webhooks"})
        local_server.end_call("default", call_id)

        def types() -> list[str]:
            return [e["type"] for _, e in received if e.get("call_cid") == f"default:{call_id}"]

        assert await wait_until(lambda: "call.ended" in types(), timeout=15)
    finally:
        local_server.webhook_url = None
        await runner.cleanup()
    order = types()
    assert order[0] == "call.session_started"
    assert order.count("call.session_started") == 1
    assert order.count("call.session_participant_joined") == 2
    assert "custom" in order
    assert order.index("call.session_ended") < order.index("call.ended")
    ids = [h["X-Webhook-Id"] for h, _ in received]
    assert len(set(ids)) == len(ids)
    for headers, event in received:
        assert headers["X-Api-Key"] == local_server.api_key
        assert headers["X-Webhook-Attempt"] == "1"
        model = MODELS.get(event["type"])
        if model is not None:  # every field the SDK's model requires is there
            required = {
                f.name
                for f in dataclasses.fields(model)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            }
            assert required <= set(event), (event["type"], required - set(event))
    joined = [e for _, e in received if e["type"] == "call.session_participant_joined"]
    assert [e["participant"]["user"]["id"] for e in joined] == ["alice", "bob"]
    assert local_server.webhooks.failed == 0 and local_server.webhooks.dropped == 0
