"""The thread and event loop a simulated participant's SDK runs on; what it needs of a server."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class ServerAddress(Protocol):
    """What a participant needs of a server: a ``LocalStreamServer`` has all of it."""

    api_key: str
    api_secret: str

    @property
    def base_url(self) -> str:
        """The REST API base URL."""
        ...

    @property
    def coordinator_ws_url(self) -> str:
        """The coordinator WebSocket URL."""
        ...


class SdkThread:
    """A daemon thread running an event loop; coroutines are handed to it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the thread's loop and await its result from the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def cancel_the_rest(self) -> None:
        """Cancel the tasks the SDK left running on the thread's loop, and wait for them."""
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.wait(rest, timeout=2) if rest else None

    async def stop_async(self, timeout: float) -> bool:
        """Stop the loop and wait, without blocking the caller's loop, for the thread to end.

        Returns:
            Whether the thread ended within ``timeout`` seconds (the loop is closed then;
            otherwise the daemon thread is left to end by itself).

        """
        if self.loop.is_closed():
            return True
        with contextlib.suppress(RuntimeError):  # the loop closed in between
            self.loop.call_soon_threadsafe(self.loop.stop)
        deadline = time.monotonic() + timeout
        while self._thread.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self._thread.is_alive():
            return False
        self.loop.close()
        return True
