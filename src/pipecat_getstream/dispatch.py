"""Ordered, bounded delivery of transport events to their handlers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger

#: Transport events waiting for their handlers; beyond this they are dropped and counted.
EVENT_QUEUE_SIZE = 1024

EmitFn = Callable[..., Awaitable[None]]


class EventDispatcher:
    """Runs event handlers one at a time, in the order the events happened.

    SDK callbacks are synchronous and must not wait for user handlers, so events are queued
    (bounded) and a single task delivers them. A slow handler delays later events but never
    reorders them; if it falls more than ``maxsize`` events behind, new events are dropped,
    counted and logged once.

    Args:
        emit: ``await emit(name, *args)`` runs the handlers of one event.
        owner: Name used in log lines.
        maxsize: Queue bound.

    """

    def __init__(self, emit: EmitFn, owner: str, maxsize: int = EVENT_QUEUE_SIZE):
        self._emit = emit
        self._owner = owner
        self._maxsize = maxsize
        self._queue: asyncio.Queue[tuple[str, tuple[Any, ...]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def start(self) -> None:
        """Start delivering (idempotent)."""
        if self._task is None or self._task.done():
            self._queue = asyncio.Queue(maxsize=self._maxsize)
            self._task = asyncio.create_task(self._run(self._queue))

    def post(self, name: str, args: tuple[Any, ...] = ()) -> None:
        """Queue one event (ignored while stopped)."""
        queue = self._queue
        if queue is None:
            return
        try:
            queue.put_nowait((name, args))
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1:
                logger.warning(f"{self._owner} event handlers are too slow; dropping events")

    def post_all(self, events: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Queue several events, in order."""
        for name, args in events:
            self.post(name, args)

    async def stop(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout``), then stop."""
        queue, task = self._queue, self._task
        self._queue, self._task = None, None
        if queue is None or task is None or task.done():
            return
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(("", ()))  # sentinel
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(task), timeout)
        task.cancel()

    async def _run(self, queue: asyncio.Queue[tuple[str, tuple[Any, ...]]]) -> None:
        while True:
            name, args = await queue.get()
            if not name:
                return
            try:
                await self._emit(name, *args)
            except Exception as exc:
                logger.exception(f"{self._owner} handler for {name} failed: {exc!r}")
