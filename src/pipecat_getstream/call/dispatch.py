"""Ordered, bounded delivery of transport events to their handlers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from loguru import logger

from pipecat_getstream.pipeline.events import TransportEvent

#: Transport events waiting for their handlers; beyond this they are dropped and counted.
EVENT_QUEUE_SIZE = 1024

EmitFn = Callable[..., Awaitable[None]]


def fit_arguments(handler: Callable[..., Any], count: int) -> Callable[..., Any]:
    """Let a handler that takes fewer positional arguments than an event passes work.

    Events gain arguments over time (``on_participant_left`` gained ``reason``); handlers
    written for the shorter form must keep working. The handler's signature is read once:
    when it accepts ``count`` positional arguments (or ``*args``) it is returned as is,
    otherwise wrapped to receive only the leading arguments it accepts. A handler whose
    signature cannot be read is returned as is.

    Args:
        handler: The event handler (sync or ``async``), called ``handler(transport, *args)``.
        count: Positional arguments the event passes, the transport included.

    Returns:
        ``handler`` itself or a wrapper of the same kind (coroutine function or not).

    """
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return handler
    positional = 0
    for parameter in parameters:
        if parameter.kind == parameter.VAR_POSITIONAL:
            return handler
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            positional += 1
    if positional >= count:
        return handler
    accepted = positional

    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def fitted_async(*args: Any, **kwargs: Any) -> Any:
            return await handler(*args[:accepted], **kwargs)

        return fitted_async

    @functools.wraps(handler)
    def fitted(*args: Any, **kwargs: Any) -> Any:
        return handler(*args[:accepted], **kwargs)

    return fitted


class EventDispatcher:
    """Delivers events to ``emit`` one at a time, in the order the events happened.

    SDK callbacks are synchronous and must not wait for user handlers, so events are queued
    (bounded) and a single task awaits ``emit`` for each in turn. What ``emit`` awaits is its
    own affair: the transport's emit starts Pipecat's handlers, which run each (non-sync)
    handler as a task of its own, so handlers *start* in event order but a slow one delays
    neither later events nor other handlers; only sync-registered handlers
    (``on_before_disconnect``) hold the queue while they run. An exception from ``emit`` is
    logged and delivery goes on. When ``maxsize`` events wait, new ones are dropped, counted
    in :attr:`dropped` and logged once.

    Args:
        emit: ``await emit(name, *args)`` delivers one event.
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

    def post(self, name: TransportEvent, args: tuple[Any, ...] = ()) -> None:
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

    def post_all(self, events: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        """Queue several events, in order (as the people registries compute them)."""
        for name, args in events:
            self.post(cast(TransportEvent, name), args)

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
