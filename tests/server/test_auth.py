"""Authentication: the SDK's errors must surface quickly and clearly."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
from getstream import AsyncStream
from getstream.video.rtc.pb.stream.video.sfu.signal_rpc import signal_pb2

from pipecat_getstream.testing import LocalStreamServer

from .sdk_kit import SDK7, SdkKit, api_error

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def token(server: LocalStreamServer, secret: str | None = None, **claims: object) -> str:
    return jwt.encode(dict(claims), secret or server.api_secret, algorithm="HS256")


def assert_auth_error(exc: BaseException, status: int, code: int, text: str) -> None:
    """The SDK's join error for a refused token.

    3.x-6.x fail the REST join: an API error with GetStream's status and code. 7.x
    connect the coordinator socket first and surface its ``connection.error`` as a
    ``CoordinatorError`` that keeps only the message (or refuse an expired token
    before sending it, with an ``RtcError``).
    """
    got_status, got_code, message = api_error(exc)
    assert text in message, message
    if SDK7:
        assert "RtcError" in [c.__name__ for c in type(exc).__mro__], repr(exc)
    else:
        assert (got_status, got_code) == (status, code)


async def test_wrong_secret_fails_the_join_quickly(sdk: SdkKit) -> None:
    server = sdk.server
    bad = AsyncStream(
        api_key=server.api_key, api_secret="not-the-secret-" + "x" * 40, base_url=server.base_url
    )
    started = time.perf_counter()
    with pytest.raises(Exception) as info:
        async with sdk.participant(f"auth-{uuid.uuid4().hex[:8]}", "alice", client=bad):
            pass
    elapsed = time.perf_counter() - started
    assert_auth_error(info.value, 401, 43, "signature")
    assert elapsed < 5, f"took {elapsed:.1f}s"
    assert server.join_count == 0


async def test_rest_auth_errors_have_getstream_shape(local_server: LocalStreamServer) -> None:
    server = local_server
    url = f"{server.base_url}/api/v2/video/call/default/auth-rest"
    now = int(time.time())
    cases = [
        ({"api_key": server.api_key}, token(server, user_id="a", exp=now - 60), 401, 40),
        ({"api_key": server.api_key}, token(server, "wrong" * 10, user_id="a"), 401, 43),
        ({"api_key": "other-key"}, token(server, user_id="a"), 401, 2),
        ({"api_key": server.api_key}, "", 401, 5),
    ]
    async with httpx.AsyncClient(timeout=5) as http:
        for params, jwt_token, status, code in cases:
            headers = {"stream-auth-type": "jwt", "Authorization": jwt_token}
            reply = await http.post(url, params=params, headers=headers, json={})
            body = reply.json()
            assert (reply.status_code, body["code"], body["StatusCode"]) == (status, code, status)
            assert body["message"] and "duration" in body
        # A user token cannot act for another user.
        headers = {"stream-auth-type": "jwt", "Authorization": token(server, user_id="alice")}
        await http.post(url, params={"api_key": server.api_key}, headers=headers, json={})
        reply = await http.post(
            url + "/event",
            params={"api_key": server.api_key},
            headers=headers,
            json={"user_id": "bob", "custom": {}},
        )
        assert reply.status_code == 403 and reply.json()["code"] == 17
        # Unknown call types are refused.
        reply = await http.post(
            f"{server.base_url}/api/v2/video/call/nope/x",
            params={"api_key": server.api_key},
            headers=headers,
            json={},
        )
        assert reply.status_code == 404 and reply.json()["code"] == 16


async def test_expired_user_token_is_refused_by_the_sdk(sdk: SdkKit) -> None:
    server = sdk.server
    expired = token(server, user_id="alice", iat=int(time.time()) - 120, exp=int(time.time()) - 60)
    try:
        client = AsyncStream(api_key=server.api_key, token=expired, base_url=server.base_url)
    except TypeError:
        pytest.skip("this SDK version has no token-only client")
    started = time.perf_counter()
    with pytest.raises(Exception) as info:
        async with sdk.participant(f"expired-{uuid.uuid4().hex[:8]}", "alice", client=client):
            pass
    assert_auth_error(info.value, 401, 40, "expired")
    assert time.perf_counter() - started < 5


async def test_twirp_requires_a_valid_sfu_token(local_server: LocalStreamServer) -> None:
    url = f"{local_server.base_url}/twirp/stream.video.sfu.signal.SignalServer/SendStats"
    body = signal_pb2.SendStatsRequest(session_id="x").SerializeToString()
    async with httpx.AsyncClient(timeout=5) as http:
        for auth in ("", token(local_server, user_id="a")):  # none, and not an SFU token
            reply = await http.post(
                url,
                content=body,
                headers={"Content-Type": "application/protobuf", "authorization": auth},
            )
            assert reply.status_code == 401 and reply.json()["code"] == "unauthenticated"
