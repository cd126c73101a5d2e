"""Exceptions raised by pipecat-getstream."""

from __future__ import annotations

import asyncio
import re
from typing import Literal


class GetstreamError(Exception):
    """Base class of every error raised by this package."""


class GetstreamConfigError(GetstreamError, ValueError):
    """A constructor argument or parameter is invalid (raised before any network call)."""


class GetstreamConnectionError(GetstreamError, ConnectionError):
    """Joining, reaching or staying in the GetStream call failed."""


class GetstreamNotConnectedError(GetstreamError, RuntimeError):
    """An operation needs a joined call, but the transport is not connected."""


#: Why a join failed for good: the credentials (key, secret or token) were refused, the
#: token has expired, the server could not be reached, or something else.
JoinFailureCause = Literal["credentials", "token_expired", "unreachable", "other"]

_CAUSE_TEXT: dict[JoinFailureCause, str] = {
    "credentials": "GetStream refused the credentials (wrong API key, secret or token?)",
    "token_expired": "the user token has expired",
    "unreachable": "the GetStream server could not be reached",
    "other": "GetStream refused the join",
}


class GetstreamJoinError(GetstreamConnectionError):
    """Joining the call failed for good (after any retries); :attr:`cause` says why.

    Args:
        what: The operation, e.g. ``"join call default:abc at https://..."`` (no secrets).
        exc: The last error.

    Attributes:
        cause: ``"credentials"``, ``"token_expired"``, ``"unreachable"`` or ``"other"``.
        status_code: The HTTP status behind the failure, when there is one.

    """

    def __init__(self, what: str, exc: BaseException) -> None:
        self.cause: JoinFailureCause = join_failure_cause(exc)
        self.status_code = http_status(exc)
        super().__init__(f"could not {what}: {_CAUSE_TEXT[self.cause]} ({describe_error(exc)})")


_STATUS_IN_TEXT = re.compile(r"status(?:_code)?[=: ]+(\d{3})")


def http_status(exc: BaseException) -> int | None:
    """The HTTP status behind an error, looking through wrapped causes and SDK messages."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        status = getattr(current, "status_code", None)
        if isinstance(status, int):
            return status
        match = _STATUS_IN_TEXT.search(str(current))
        if match:
            return int(match.group(1))
        current = current.__cause__ or current.__context__
    return None


def is_retryable(exc: BaseException) -> bool:
    """Whether joining again may help: server errors, rate limits and network failures."""
    status = http_status(exc)
    if status is not None:
        return status >= 500 or status == 429
    name = type(exc).__name__.lower()
    return (
        join_failure_cause(exc) == "unreachable"
        or isinstance(exc, (OSError, asyncio.TimeoutError, ConnectionError))
        or "timeout" in name
        or "connect" in name
    )


_UNREACHABLE_IN_TEXT = re.compile(
    r"connection refused|connect(?:ion)? (?:error|failed|timed out)|name or service not known|"
    r"nodename nor servname|no route to host|network is unreachable|os error 1(?:11|13)|"
    r"timed out|dns error",
    re.I,
)


_EXPIRED_TOKEN_IN_TEXT = re.compile(r"(?:JWT|token)\b.*\bexpired", re.I)


def join_failure_cause(exc: BaseException) -> JoinFailureCause:
    """Name the cause of a failed join from the error an SDK raised.

    Refused credentials are HTTP 401/403; an expired token says so in GetStream's message
    (or, on 7.x, in the SDK's own check);
    an unreachable server is a socket error, whichever SDK generation reports it (3.x-6.x
    raise ``OSError``/httpx errors, 7.x an ``RtcError`` whose text names the socket error).
    """
    status = http_status(exc)
    text = _error_texts(exc)
    if _EXPIRED_TOKEN_IN_TEXT.search(text) and status in (None, 401, 403):
        return "token_expired"  # 7.x checks a token's expiry itself, before any request
    if status in (401, 403):
        return "credentials"
    if status is None and (_is_network_error(exc) or _UNREACHABLE_IN_TEXT.search(text)):
        return "unreachable"
    return "other"


def _error_texts(exc: BaseException) -> str:
    texts = []
    for current in _chain(exc):
        api_error = getattr(current, "api_error", None)
        texts.append(f"{getattr(api_error, 'message', '') or ''} {current}")
    return " ".join(texts)


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _is_network_error(exc: BaseException) -> bool:
    return any(
        isinstance(current, (OSError, asyncio.TimeoutError))
        or "connecterror" in type(current).__name__.lower()
        or "timeout" in type(current).__name__.lower()
        for current in _chain(exc)
    )


def describe_error(exc: BaseException) -> str:
    """A one-line description of an SDK error: HTTP status and GetStream's message."""
    status = http_status(exc)
    api_error = getattr(exc, "api_error", None)
    message = getattr(api_error, "message", None) or str(exc) or type(exc).__name__
    prefix = f"HTTP {status}: " if status is not None else f"{type(exc).__name__}: "
    return prefix + message[:300]
