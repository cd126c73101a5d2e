"""The sessions API end to end: limits, endings, failures and clear refusals."""

from __future__ import annotations

import pytest

from pipecat_getstream.runner import SessionState
from pipecat_getstream.testing.signals import wait_until
from tests.runner.conftest import BOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


async def test_capacity_refusals_tell_a_load_balancer_to_go_elsewhere(
    local_server, agent_server, call_id
):
    server, client = await agent_server(max_sessions=2, retry_after_s=7)
    first = await client.post("/sessions", json={"call_id": call_id, "body": {"mode": "hang"}})
    assert first.status_code == 201, first.text
    same_call = await client.post("/sessions", json={"call_id": call_id})
    assert same_call.status_code == 409 and "already has 1" in same_call.json()["error"]
    assert (await client.get("/ready")).status_code == 200
    second = await client.post(
        "/sessions", json={"call_id": call_id + "-b", "body": {"mode": "hang"}}
    )
    assert second.status_code == 201
    ready = await client.get("/ready")
    assert ready.status_code == 503 and ready.json()["reason"] == "at capacity"
    full = await client.post("/sessions", json={"call_id": call_id + "-c"})
    assert full.status_code == 503 and full.headers["Retry-After"] == "7"
    assert "capacity" in full.json()["error"]
    stopped = await client.delete(f"/sessions/{first.json()['session_id']}")
    assert stopped.status_code == 200
    assert (
        stopped.json()["state"] == "ended" and stopped.json()["end_reason"] == "stopped by request"
    )
    assert (await client.get("/ready")).status_code == 200
    metrics = (await client.get("/metrics")).text
    assert 'pipecat_getstream_sessions_refused_total{reason="capacity"} 1.0' in metrics
    assert 'pipecat_getstream_sessions_refused_total{reason="call"} 1.0' in metrics
    assert "pipecat_getstream_sessions_active 1.0" in metrics


async def test_idle_and_maximum_duration_endings(local_server, agent_server, participants, call_id):
    # A join takes up to seconds on SDK 3.x-6.x under load: the limits leave room for it.
    server, client = await agent_server(idle_timeout_s=1.0, max_duration_s=10.0)
    alice = await participants(call_id, "alice")
    with_alice = (await client.post("/sessions", json={"call_id": call_id})).json()
    alone = (await client.post("/sessions", json={"call_id": call_id + "-empty"})).json()
    await alice.wait_for_sound(BOT, since=alice.joined_at, timeout=20)

    def state(session: dict) -> str:
        return server.sessions.get(session["session_id"]).state.value

    assert await wait_until(lambda: state(alone) == "ended", timeout=20)
    assert server.sessions.get(alone["session_id"]).end_reason == "idle"
    assert await wait_until(lambda: state(with_alice) == "ended", timeout=20)
    ended = (await client.get(f"/sessions/{with_alice['session_id']}")).json()
    # She was there: not idle, though idle_timeout_s is far below max_duration_s.
    assert ended["end_reason"] == "max duration" and ended["duration_s"] >= 10.0
    assert await wait_until(lambda: BOT in alice.left, timeout=10)  # the bot left the call
    assert local_server.participants("default", call_id) == ["alice"]
    assert local_server.participants("default", call_id + "-empty") == []


async def test_a_crashing_or_hanging_bot_ends_only_its_own_session(
    local_server, agent_server, participants, call_id
):
    server, client = await agent_server(join_timeout_s=2.0)
    alice = await participants(call_id, "alice")
    healthy = (await client.post("/sessions", json={"call_id": call_id})).json()
    await alice.wait_for_sound(BOT, since=alice.joined_at, timeout=20)
    crash = (
        await client.post(
            "/sessions", json={"call_id": call_id + "-crash", "body": {"mode": "crash"}}
        )
    ).json()
    hang = (
        await client.post(
            "/sessions", json={"call_id": call_id + "-hang", "body": {"mode": "hang"}}
        )
    ).json()

    def info(session: dict) -> dict:
        return server.sessions.get(session["session_id"]).as_json()

    assert await wait_until(lambda: info(crash)["state"] == "failed", timeout=15)
    assert info(crash)["error"] == "RuntimeError: the bot crashed on purpose"
    assert await wait_until(lambda: info(hang)["state"] == "failed", timeout=15)
    assert info(hang)["end_reason"] == "join timeout"
    assert local_server.participants("default", call_id + "-crash") == []
    # The healthy bot plays on.
    assert info(healthy)["state"] == "running"
    await alice.wait_for_sound(BOT, timeout=5)
    metrics = (await client.get("/metrics")).text
    assert "pipecat_getstream_sessions_failed_total 2.0" in metrics


async def test_bad_requests_get_a_clear_4xx(local_server, agent_server, call_id):
    server, client = await agent_server()
    url = server.url
    import httpx

    async with httpx.AsyncClient(base_url=url) as anonymous:
        assert (await anonymous.get("/sessions")).status_code == 401
        wrong = await anonymous.post(
            "/sessions", json={"call_id": call_id}, headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await anonymous.get("/health")).json() == {"status": "ok"}
    cases = [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"{}", "call_id is required"),
        (b'{"call_id": 5}', "call_id is required"),
        (b'{"call_id": "a b/c"}', "call_id"),
        (b'{"call_id": "ok", "call_type": ""}', "call_type"),
        (b'{"call_id": "ok", "body": [1]}', "body must be a JSON object"),
    ]
    for raw, message in cases:
        answer = await client.post("/sessions", content=raw)
        assert answer.status_code == 400, (raw, answer.text)
        assert message in answer.json()["error"], (raw, answer.text)
    missing = await client.get("/sessions/nope")
    assert missing.status_code == 404 and "no session" in missing.json()["error"]
    assert (await client.delete("/sessions/nope")).status_code == 404
    not_json = await client.post("/webhooks/getstream", content=b"{}", headers={"X-Signature": "x"})
    assert not_json.status_code == 401
    assert server.sessions.live == []


async def test_without_a_token_the_sessions_api_is_off(local_server, agent_server, call_id):
    server, client = await agent_server(auth_token=None)
    answer = await client.post("/sessions", json={"call_id": call_id})
    assert answer.status_code == 403 and "RUNNER_API_TOKEN" in answer.json()["error"]
    assert server.sessions.live == []


async def test_a_bot_that_finishes_ends_its_session(
    local_server, agent_server, participants, call_id
):
    server, client = await agent_server()
    alice = await participants(call_id, "alice")
    started = await client.post(
        "/sessions", json={"call_id": call_id, "body": {"mode": "finish", "seconds": 0.5}}
    )
    session_id = started.json()["session_id"]
    assert await wait_until(lambda: not server.sessions.live, timeout=20)
    session = server.sessions.get(session_id)
    assert session.state is SessionState.ENDED and session.end_reason == "bot finished"
    assert session.join_s is not None
    assert await wait_until(lambda: BOT in alice.left, timeout=10)


async def test_the_warm_up_hook_runs_before_the_server_is_ready(agent_server, call_id):
    warmed: list[str] = []

    async def warm_up() -> None:
        warmed.append("models loaded")

    server, client = await agent_server(warmup=warm_up)
    assert warmed == ["models loaded"] and server.warm
    assert (await client.get("/ready")).json() == {"ready": True, "sessions": 0}
    metrics = (await client.get("/metrics")).text
    assert "pipecat_getstream_ready 1.0" in metrics
