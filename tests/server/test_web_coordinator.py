"""The coordinator as GetStream's web SDK calls it: CORS, its socket path, health-check
arrays, the re-watch query, client telemetry, the location hint and datetime formats.

Requests are shaped as ``@stream-io/video-client`` 1.60 sends them (headers, query
parameters, bodies); the full SDK in Chromium is exercised in ``tests/browser``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import aiohttp
import jwt
import pytest
from getstream import AsyncStream

from pipecat_getstream.testing import LocalStreamServer

pytestmark = [pytest.mark.timeout(60)]

ORIGIN = "http://localhost:5173"
WEB_CLIENT = "stream-video-js-v1.60.0|client_bundle=browser"
PYTHON_CLIENT = "stream-python-client-7.0.0"


def user_token(server: LocalStreamServer, user_id: str) -> str:
    return jwt.encode({"user_id": user_id}, server.api_secret, algorithm="HS256")


def web_headers(server: LocalStreamServer, user_id: str, **extra: str) -> dict[str, str]:
    """The headers of the web SDK's REST calls (``_enrichAxiosOptions``)."""
    return {
        "Authorization": user_token(server, user_id),
        "stream-auth-type": "jwt",
        "X-Stream-Client": WEB_CLIENT,
        "x-client-request-id": str(uuid.uuid4()),
        "Origin": ORIGIN,
        **extra,
    }


async def open_socket(
    session: aiohttp.ClientSession, server: LocalStreamServer, user_id: str
) -> tuple[aiohttp.ClientWebSocketResponse, str]:
    """The web SDK's coordinator socket: ``{baseURL}/connect``, auth message first."""
    query = {"api_key": server.api_key, "stream-auth-type": "jwt", "X-Stream-Client": WEB_CLIENT}
    ws = await session.ws_connect(f"{server.base_url}/api/v2/video/connect", params=query)
    await ws.send_str(
        json.dumps(
            {
                "token": user_token(server, user_id),
                "products": ["video"],
                "user_details": {"id": user_id, "name": user_id},
            }
        )
    )
    ok = json.loads((await ws.receive(timeout=5)).data)
    assert ok["type"] == "connection.ok", ok
    return ws, ok["connection_id"]


async def next_event(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        event = json.loads((await ws.receive(timeout=5)).data)
        if event.get("type") == kind:
            return event


async def create_call(server: LocalStreamServer, call_id: str, by: str = "creator") -> None:
    client = AsyncStream(server.api_key, server.api_secret, base_url=server.base_url)
    await client.video.call("default", call_id).get_or_create(data={"created_by_id": by})
    await client.aclose()


async def test_preflights_are_answered_for_the_coordinator_and_the_sfu(getstream_server):
    server = getstream_server
    requested = "authorization,content-type,stream-auth-type,x-client-request-id,x-stream-client"
    async with aiohttp.ClientSession() as session:
        for path in (
            "/api/v2/video/call/default/any/join",
            "/twirp/stream.video.sfu.signal.SignalServer/SetPublisher",
            "/hint",
        ):
            preflight = {
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": requested,
            }
            async with session.options(server.base_url + path, headers=preflight) as resp:
                assert resp.status == 204, path
                assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
                assert resp.headers["Access-Control-Allow-Headers"] == requested
                assert "POST" in resp.headers["Access-Control-Allow-Methods"]


async def test_responses_and_errors_grant_the_origin(getstream_server):
    server = getstream_server
    async with aiohttp.ClientSession() as session:
        url = f"{server.base_url}/api/v2/video/call/default/nope"
        async with session.get(url, params={"api_key": server.api_key}) as resp:
            assert resp.status == 401
            assert "Access-Control-Allow-Origin" not in resp.headers  # not a browser
        headers = {"Origin": ORIGIN}
        async with session.get(url, params={"api_key": server.api_key}, headers=headers) as resp:
            assert resp.status == 401  # no token: refused, yet readable by the page
            assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
        async with session.head(f"{server.base_url}/hint", headers=headers) as resp:
            assert resp.status == 200
            assert resp.headers["x-amz-cf-pop"][:3] == "LCL"
            assert "x-amz-cf-pop" in resp.headers["Access-Control-Expose-Headers"]


async def test_socket_at_the_video_path_answers_health_check_arrays(getstream_server):
    server = getstream_server
    async with aiohttp.ClientSession() as session:
        ws, connection_id = await open_socket(session, server, "web-hc")
        await ws.send_str(json.dumps([{"type": "health.check", "client_id": "web-hc--1"}]))
        reply = await next_event(ws, "health.check")
        assert reply["connection_id"] == connection_id
        assert isinstance(reply["created_at"], str)
        await ws.close()


async def test_rewatch_by_query_calls_restores_the_calls_events(getstream_server):
    server = getstream_server
    call_id = f"rewatch-{uuid.uuid4().hex[:8]}"
    other = f"other-{uuid.uuid4().hex[:8]}"
    await create_call(server, call_id)
    await create_call(server, other)
    async with aiohttp.ClientSession() as session:
        ws, connection_id = await open_socket(session, server, "web-rw")
        assert "web-rw" not in server.watchers("default", call_id)
        params = {"api_key": server.api_key, "user_id": "web-rw", "connection_id": connection_id}
        body = {"watch": True, "filter_conditions": {"cid": {"$in": [f"default:{call_id}"]}}}
        async with session.post(
            f"{server.base_url}/api/v2/video/calls",
            params=params,
            json=body,
            headers=web_headers(server, "web-rw"),
        ) as resp:
            assert resp.status == 200, await resp.text()
            result = await resp.json()
        assert [c["call"]["id"] for c in result["calls"]] == [call_id]
        assert {"call", "members", "own_capabilities"} <= set(result["calls"][0])
        assert server.watchers("default", call_id) == ["web-rw"]
        assert "web-rw" not in server.watchers("default", other)
        # The watched call's custom events reach the socket.
        event = {"custom": {"n": 1}, "user_id": "creator"}
        client = AsyncStream(server.api_key, server.api_secret, base_url=server.base_url)
        await client.video.call("default", call_id).send_call_event(**event)
        await client.aclose()
        received = await next_event(ws, "custom")
        assert received["custom"] == {"n": 1} and received["call_cid"] == f"default:{call_id}"
        await ws.close()


async def test_query_calls_refuses_filters_it_cannot_apply(getstream_server):
    server = getstream_server
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{server.base_url}/api/v2/video/calls",
            params={"api_key": server.api_key},
            json={"filter_conditions": {"starts_at": {"$gt": "2020-01-01T00:00:00Z"}}},
            headers=web_headers(server, "web-q"),
        ) as resp:
            assert resp.status == 400
            assert "starts_at" in (await resp.json())["message"]


async def test_datetimes_are_rfc3339_for_the_web_sdk_and_nanoseconds_for_python(getstream_server):
    server = getstream_server
    call_id = f"times-{uuid.uuid4().hex[:8]}"
    await create_call(server, call_id)
    url = f"{server.base_url}/api/v2/video/call/default/{call_id}"
    async with aiohttp.ClientSession() as session:
        params = {"api_key": server.api_key}
        async with session.get(url, params=params, headers=web_headers(server, "u")) as resp:
            web = (await resp.json())["call"]
        python_headers = web_headers(server, "u", **{"X-Stream-Client": PYTHON_CLIENT})
        async with session.get(url, params=params, headers=python_headers) as resp:
            python = (await resp.json())["call"]
    assert web["created_at"].endswith("Z") and "T" in web["created_at"]
    assert web["created_by"]["created_at"].endswith("Z")
    assert isinstance(python["created_at"], int)
    assert abs(python["created_at"] / 1e9 - time.time()) < 60
    # The Python SDK itself still decodes the call.
    client = AsyncStream(server.api_key, server.api_secret, base_url=server.base_url)
    fetched = await client.video.call("default", call_id).get()
    await client.aclose()
    assert fetched.data.call.created_at.year >= 2024


async def test_client_events_are_accepted_with_or_without_a_user(getstream_server):
    server = getstream_server
    url = f"{server.base_url}/api/v2/video/call_client_event"
    event = {"stage": "join", "type": "default", "id": "c", "timestamp": "2026-01-01T00:00:00Z"}
    async with aiohttp.ClientSession() as session:
        params = {"api_key": server.api_key, "user_id": "web-ce"}
        headers = web_headers(server, "web-ce")
        async with session.post(url, params=params, json={"events": [event]}, headers=headers) as r:
            assert r.status == 200, await r.text()
            assert "duration" in await r.json()
        anonymous = {"stream-auth-type": "anonymous", "X-Stream-Client": WEB_CLIENT}
        async with session.post(
            url, params={"api_key": server.api_key}, json={"events": [event]}, headers=anonymous
        ) as r:
            assert r.status == 200
        async with session.post(url, params=params, json={"events": []}, headers=headers) as r:
            assert r.status == 400
        async with session.post(
            url, params={"api_key": "wrong"}, json={"events": [event]}, headers=anonymous
        ) as r:
            assert r.status == 401


async def test_socket_drop_then_rewatch_keeps_events_flowing(getstream_server):
    """What the web SDK does after its socket drops: reconnect, then re-watch by query."""
    server = getstream_server
    call_id = f"drop-{uuid.uuid4().hex[:8]}"
    await create_call(server, call_id)
    async with aiohttp.ClientSession() as session:
        ws, first = await open_socket(session, server, "web-dr")
        assert server.drop_coordinator_sockets("web-dr") == 1
        await asyncio.wait_for(ws.receive(), 5)  # closed
        ws, second = await open_socket(session, server, "web-dr")
        assert second != first
        params = {"api_key": server.api_key, "connection_id": second}
        body = {"watch": True, "filter_conditions": {"cid": {"$in": [f"default:{call_id}"]}}}
        async with session.post(
            f"{server.base_url}/api/v2/video/calls",
            params=params,
            json=body,
            headers=web_headers(server, "web-dr"),
        ) as resp:
            assert resp.status == 200
        assert server.watchers("default", call_id) == ["web-dr"]
        await ws.close()
