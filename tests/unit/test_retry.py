"""with_backoff: which errors are retried, how often, how long it waits, what it raises."""

from __future__ import annotations

import asyncio

import pytest

from pipecat_getstream.call.retry import with_backoff
from pipecat_getstream.errors import (
    GetstreamConfigError,
    GetstreamConnectionError,
    GetstreamJoinError,
    join_failure_cause,
)


class HttpError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"status {status}")
        self.status_code = status


def flaky(errors: list[BaseException]):
    """An attempt that raises each of ``errors`` in turn, then succeeds."""
    calls: list[int] = []

    async def attempt() -> None:
        calls.append(1)
        if errors:
            raise errors.pop(0)

    return attempt, calls


@pytest.fixture
def sleeps(monkeypatch):
    waited: list[float] = []

    async def fake_sleep(delay: float) -> None:
        waited.append(delay)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    return waited


async def test_server_errors_rate_limits_and_network_faults_are_retried_with_doubling(sleeps):
    attempt, calls = flaky([HttpError(503), HttpError(429), ConnectionResetError("reset")])
    cleanups: list[int] = []

    async def cleanup() -> None:
        cleanups.append(1)

    await with_backoff(attempt, attempts=5, cleanup=cleanup, what="join", first_delay=0.5)
    assert len(calls) == 4 and len(cleanups) == 3
    assert sleeps == [0.5, 1.0, 2.0]


async def test_client_errors_fail_at_once_with_the_status(sleeps):
    attempt, calls = flaky([HttpError(403)])

    async def cleanup() -> None:
        pass

    with pytest.raises(GetstreamJoinError, match="could not join: GetStream refused") as info:
        await with_backoff(attempt, attempts=5, cleanup=cleanup, what="join")
    assert len(calls) == 1 and sleeps == []
    assert info.value.cause == "credentials" and info.value.status_code == 403
    assert "HTTP 403" in str(info.value)


async def test_attempts_run_out(sleeps):
    attempt, calls = flaky([HttpError(502)] * 5)

    async def cleanup() -> None:
        pass

    with pytest.raises(GetstreamConnectionError, match="502"):
        await with_backoff(attempt, attempts=3, cleanup=cleanup, what="join", first_delay=0.1)
    assert len(calls) == 3 and sleeps == [0.1, 0.2]


async def test_config_errors_are_never_retried_nor_wrapped(sleeps):
    attempt, calls = flaky([GetstreamConfigError("bad call id")])
    cleaned: list[int] = []

    async def cleanup() -> None:
        cleaned.append(1)

    with pytest.raises(GetstreamConfigError, match="bad call id"):
        await with_backoff(attempt, attempts=3, cleanup=cleanup, what="join")
    assert len(calls) == 1 and cleaned == [] and sleeps == []


class ApiMessage:
    def __init__(self, message: str) -> None:
        self.message = message


class ApiError(Exception):
    """Shaped as the SDK's REST error: a status code and GetStream's message apart."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Stream API error status={status}")
        self.status_code = status
        self.api_error = ApiMessage(message)


class RtcError(Exception):
    """The 7.x SDK's error: no status, the socket error in its text."""


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (ApiError(401, "JWTAuth error: signature is not valid"), "credentials"),
        (ApiError(403, "api key not valid"), "credentials"),
        (ApiError(401, "JWTAuth error: token has expired"), "token_expired"),
        (RtcError("JWT expired at 1796316140 (current time 1796316201)"), "token_expired"),
        (ConnectionRefusedError(111, "Connection refused"), "unreachable"),
        (RtcError("websocket error: IO error: Connection refused (os error 111)"), "unreachable"),
        (asyncio.TimeoutError(), "unreachable"),
        (ApiError(500, "internal error"), "other"),
        (ValueError("something else"), "other"),
    ],
)
def test_join_failures_name_their_cause(error, cause):
    assert join_failure_cause(error) == cause
    wrapped = GetstreamJoinError("join call default:c at http://h", error)
    assert wrapped.cause == cause
    assert str(wrapped).startswith("could not join call default:c at http://h: ")


def test_an_expired_token_behind_a_wrapper_is_still_named():
    try:
        try:
            raise ApiError(401, "JWTAuth error: token has expired")
        except ApiError as inner:
            raise ConnectionError("the credentials were refused") from inner
    except ConnectionError as outer:
        assert join_failure_cause(outer) == "token_expired"
