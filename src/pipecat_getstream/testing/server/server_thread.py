"""An asyncio event loop running on its own daemon thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from loguru import logger

T = TypeVar("T")


class ServerThread:
    """Owns one thread and one event loop; runs coroutines on it from other threads.

    Args:
        name: The thread's name.
        timeout_s: How long blocking calls wait for the loop.

    """

    def __init__(self, name: str, timeout_s: float = 15.0) -> None:
        self.name = name
        self.timeout_s = timeout_s
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def running(self) -> bool:
        """Whether the loop thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def on_loop_thread(self) -> bool:
        """Whether the caller runs on the loop's own thread."""
        return threading.current_thread() is self._thread

    def start(self, startup: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start the thread, run ``startup`` on its loop and return when it is done.

        Raises:
            BaseException: Whatever ``startup`` raised (the thread is then gone).

        """
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._main, args=(startup, ready, errors), name=self.name, daemon=True
        )
        self._thread.start()
        ready.wait()
        if errors:
            self._thread.join()
            self._thread = self._loop = None
            raise errors[0]

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the loop and wait for its result.

        Raises:
            RuntimeError: If the loop is not running or the caller is on its thread.

        """
        loop = self._loop
        if loop is None or not self.running:
            coro.close()
            raise RuntimeError(f"{self.name} is not started")
        if self.on_loop_thread:
            coro.close()
            raise RuntimeError(f"blocking call into {self.name} from its own thread")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=self.timeout_s)

    def stop(self, shutdown: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``shutdown`` on the loop, then stop the loop and join the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if self.on_loop_thread:
            raise RuntimeError(f"{self.name} cannot be stopped from its own thread")
        if thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=self.timeout_s)
            except Exception:
                logger.exception("{} shutdown failed", self.name)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=self.timeout_s)
        self._thread = self._loop = None

    def _main(
        self,
        startup: Callable[[], Coroutine[Any, Any, None]],
        ready: threading.Event,
        errors: list[BaseException],
    ) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(startup())
        except BaseException as exc:
            errors.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
