"""Retrying a join: exponential backoff on errors that joining again may fix."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from loguru import logger

from pipecat_getstream.errors import (
    GetstreamConfigError,
    GetstreamJoinError,
    describe_error,
    is_retryable,
)


async def with_backoff(
    attempt: Callable[[], Awaitable[None]],
    *,
    attempts: int,
    cleanup: Callable[[], Awaitable[None]],
    what: str,
    first_delay: float = 0.5,
) -> None:
    """Run ``attempt`` until it succeeds, retrying server errors, rate limits and network faults.

    Args:
        attempt: The operation (one join).
        attempts: How many times to try in all.
        cleanup: Undoes a failed attempt's partial work before the next one.
        what: Names the operation in logs and errors (never holds a secret).
        first_delay: Seconds before the second attempt; doubled after each failure.

    Each retried failure is logged as a warning; the final one is only raised (the caller
    reports it once).

    Raises:
        GetstreamConfigError: At once, never retried.
        GetstreamJoinError: When an error is not retryable or attempts run out; its
            ``cause`` names why.

    """
    delay = first_delay
    for number in range(1, attempts + 1):
        try:
            await attempt()
            return
        except GetstreamConfigError:
            raise
        except Exception as exc:
            await cleanup()
            if not is_retryable(exc) or number == attempts:
                raise GetstreamJoinError(what, exc) from exc
            logger.warning(
                f"{what} attempt {number}/{attempts} failed: {describe_error(exc)}; "
                f"retrying in {delay:.1f}s"
            )
            await asyncio.sleep(delay)
            delay *= 2
