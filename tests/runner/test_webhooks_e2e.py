"""GetStream webhooks from the local server start bots, once, and only when signed."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from pipecat_getstream.runner import SessionState
from pipecat_getstream.testing.signals import wait_until
from tests.runner.conftest import BOT

STARTED = ("call.session_started",)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def signed(event: dict, secret: str) -> tuple[bytes, str]:
    body = json.dumps(event).encode()
    return body, hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def session_started(call_id: str) -> dict:
    return {
        "type": "call.session_started",
        "call_cid": f"default:{call_id}",
        "session_id": "s-1",
        "call": {"cid": f"default:{call_id}", "type": "default", "id": call_id},
        "created_at": "2026-01-01T00:00:00Z",
    }


async def test_a_webhook_starts_a_bot_that_a_participant_hears(
    local_server, agent_server, participants, call_id
):
    server, client = await agent_server(webhook_events=STARTED)
    alice = await participants(call_id, "alice")  # her join starts the call's session
    heard = await alice.wait_for_sound(BOT, since=alice.joined_at, timeout=20)
    assert heard > alice.joined_at
    [session] = server.sessions.live
    assert (session.source, session.args.call_id, session.state) == (
        "call.session_started",
        call_id,
        SessionState.RUNNING,
    )
    assert session.args.body["event"]["call_cid"] == f"default:{call_id}"
    assert session.join_s is not None and session.join_s > 0
    listed = (await client.get("/sessions")).json()["sessions"]
    assert [s["session_id"] for s in listed] == [session.id]
    metrics = (await client.get("/metrics")).text
    assert 'pipecat_getstream_sessions_started_total{source="call.session_started"} 1.0' in metrics
    assert "pipecat_getstream_sessions_active 1.0" in metrics
    # Her leaving ends the call's session; the bot, alone, is ended by the call ending.
    local_server.end_call("default", call_id)
    assert await wait_until(lambda: not server.sessions.live, timeout=15)
    assert server.sessions.get(session.id).end_reason == "call ended"
    assert server.sessions.get(session.id).state is SessionState.ENDED


async def test_unsigned_or_wrongly_signed_webhooks_start_nothing(
    local_server, agent_server, call_id
):
    server, client = await agent_server(webhook_events=STARTED)
    body, signature = signed(session_started(call_id), local_server.api_secret)
    for headers in (
        {},
        {"X-Signature": ""},
        {"X-Signature": "0" * 64},
        {"X-Signature": signed(session_started(call_id), "another secret")[1]},
    ):
        answer = await client.post("/webhooks/getstream", content=body, headers=headers)
        assert answer.status_code == 401, answer.text
        assert "X-Signature" in answer.json()["error"]
    tampered = body.replace(call_id.encode(), b"other-call")
    answer = await client.post(
        "/webhooks/getstream", content=tampered, headers={"X-Signature": signature}
    )
    assert answer.status_code == 401
    assert server.sessions.live == [] and local_server.participants("default", call_id) == []
    metrics = (await client.get("/metrics")).text
    assert 'pipecat_getstream_webhooks_total{outcome="rejected"} 5.0' in metrics


async def test_a_retried_webhook_starts_one_bot(local_server, agent_server, call_id):
    server, client = await agent_server(webhook_events=STARTED)
    body, signature = signed(session_started(call_id), local_server.api_secret)
    answers = []
    for attempt in (1, 2, 3):
        headers = {
            "X-Signature": signature,
            "X-Webhook-Id": "delivery-1",
            "X-Webhook-Attempt": str(attempt),
        }
        answers.append(await client.post("/webhooks/getstream", content=body, headers=headers))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["status"] for a in answers] == ["started", "duplicate", "duplicate"]
    # Another delivery for the same call (the cloud's id differs): the call has its bot.
    other = await client.post(
        "/webhooks/getstream",
        content=body,
        headers={"X-Signature": signature, "X-Webhook-Id": "delivery-2"},
    )
    assert other.json()["status"] == "ignored"
    assert await wait_until(lambda: BOT in local_server.participants("default", call_id), 15)
    assert len(server.sessions.live) == 1
    assert local_server.participants("default", call_id) == [BOT]


async def test_a_custom_event_asks_for_a_bot_with_its_own_parameters(
    local_server, agent_server, participants, call_id
):
    """Only ``custom`` events of the configured type start a bot; their data is its body."""
    server, client = await agent_server(webhook_events=("custom",))
    alice = await participants(call_id, "alice")
    await alice.send_event({"type": "something else"})
    await alice.send_event({"type": "pipecat.start_bot", "frequency": 660})
    assert await wait_until(lambda: server.sessions.live, timeout=10)
    [session] = server.sessions.live
    assert session.source == "custom" and session.args.body["frequency"] == 660
    started = await alice.wait_for_sound(BOT, since=alice.joined_at, timeout=20)
    recording = alice.recording(BOT)
    assert await wait_until(lambda: len(recording.loud_times(started)) >= 20, timeout=10)
    assert abs(recording.dominant_frequency(started) - 660) < 15
    stats = local_server.webhooks
    assert stats.failed == 0 and stats.dropped == 0
    metrics = (await client.get("/metrics")).text
    assert 'outcome="started"} 1.0' in metrics and 'outcome="ignored"}' in metrics


async def test_a_webhook_refused_at_capacity_starts_the_bot_on_getstreams_retry(
    local_server, agent_server, participants, call_id
):
    """503 + Retry-After at capacity; the delivery is forgotten, so a retry can succeed."""
    server, client = await agent_server(max_sessions=1, webhook_events=STARTED)
    busy = await client.post(
        "/sessions", json={"call_id": call_id + "-busy", "body": {"mode": "hang"}}
    )
    assert busy.status_code == 201
    await participants(call_id, "alice")  # session_started -> refused: the server is full
    assert await wait_until(lambda: 503 in local_server.webhooks.statuses, timeout=10)
    await client.delete(f"/sessions/{busy.json()['session_id']}")
    # The local server retries the delivery (as GetStream does); this time there is room.
    assert await wait_until(lambda: server.sessions.live, timeout=10)
    [session] = server.sessions.live
    assert (session.source, session.args.call_id) == ("call.session_started", call_id)
    assert local_server.webhooks.failed == 0
    metrics = (await client.get("/metrics")).text
    assert 'pipecat_getstream_webhooks_total{outcome="refused_capacity"}' in metrics
    assert 'pipecat_getstream_sessions_refused_total{reason="capacity"}' in metrics
