"""Exceptions raised by pipecat-getstream."""

from __future__ import annotations

import asyncio
import re


class GetstreamError(Exception):
    """Base class of every error raised by this package."""


class GetstreamConfigError(GetstreamError, ValueError):
    """A constructor argument or parameter is invalid (raised before any network call)."""


class GetstreamConnectionError(GetstreamError, ConnectionError):
    """Joining, reaching or staying in the GetStream call failed."""


class GetstreamNotConnectedError(GetstreamError, RuntimeError):
    """An operation needs a joined call, but the transport is not connected."""


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
    return isinstance(exc, (OSError, asyncio.TimeoutError, ConnectionError)) or (
        "timeout" in type(exc).__name__.lower() or "connect" in type(exc).__name__.lower()
    )


def describe_error(exc: BaseException) -> str:
    """A one-line description of an SDK error: HTTP status and GetStream's message."""
    status = http_status(exc)
    api_error = getattr(exc, "api_error", None)
    message = getattr(api_error, "message", None) or str(exc) or type(exc).__name__
    prefix = f"HTTP {status}: " if status is not None else f"{type(exc).__name__}: "
    return prefix + message[:300]
