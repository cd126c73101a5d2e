"""Guards against two SDK reconnection bugs (seen in getstream 3.x through 6.x).

1. *Stuck reconnection*: ``connection_lost`` can fire before the socket is marked closed;
   the fast path then only restarts ICE and reports success while the signaling socket is
   dead. And a refused fast reconnect ends in ``reconnecting_failed`` with no rejoin.
   :class:`SignalingWatchdog` notices either and asks the SDK to rejoin.
2. *Lost subscriptions after a rejoin*: the new SFU session is not told what to send, so
   audio stays at zero. :func:`resubscribe` re-sends the desired subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from loguru import logger

from pipecat_getstream.stacks.aiortc.sdk import close_signaling_in_background


def signaling_dead(manager: Any) -> bool:
    """Whether the SDK is stuck: running, but its signaling socket is gone or it gave up.

    Besides a dead socket while "joined", this catches the SDK abandoning reconnection: when
    a fast reconnect is refused (the SFU dropped the session after its deadline), the SDK
    sets ``reconnecting_failed`` and stops without trying a rejoin or emitting an event.
    """
    if not getattr(manager, "running", False):
        return False
    state = getattr(getattr(manager, "connection_state", None), "value", None)
    if state == "reconnecting_failed":
        return True
    if state != "joined":
        return False
    ws = getattr(manager, "_ws_client", None)
    return ws is None or bool(getattr(ws, "closed", False)) or not getattr(ws, "running", True)


async def resubscribe(manager: Any) -> None:
    """Re-send the manager's desired track subscriptions to the SFU (after a rejoin)."""
    subscriptions = getattr(manager, "_subscription_manager", None)
    update = getattr(subscriptions, "_update_subscriptions", None)
    if update is None:
        return
    try:
        await update()
    except Exception as exc:
        logger.warning(f"re-sending subscriptions after a rejoin failed: {exc!r}")


class SignalingWatchdog:
    """Polls the SDK's signaling socket and triggers a reconnect when it died unnoticed.

    Args:
        manager: The SDK's ConnectionManager.
        interval: Seconds between checks.
        grace: Consecutive dead checks before acting (lets the SDK's own reconnect run).

    """

    def __init__(self, manager: Any, interval: float = 0.5, grace: int = 3):
        self._manager = manager
        self._interval = interval
        self._grace = grace
        self._task: asyncio.Task[None] | None = None
        self.recoveries = 0

    def start(self) -> None:
        """Start watching (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="getstream-signaling-watchdog")

    async def stop(self) -> None:
        """Stop watching."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        dead_checks = 0
        while True:
            await asyncio.sleep(self._interval)
            dead_checks = dead_checks + 1 if signaling_dead(self._manager) else 0
            gave_up = getattr(self._manager.connection_state, "value", "") == "reconnecting_failed"
            if dead_checks == 0 or (dead_checks < self._grace and not gave_up):
                continue
            dead_checks = 0
            reconnector = getattr(self._manager, "_reconnector", None)
            if reconnector is None:
                return
            self.recoveries += 1
            logger.warning("GetStream signaling socket is dead while joined; reconnecting")
            try:
                from getstream.video.rtc.connection_utils import ConnectionState
                from getstream.video.rtc.reconnection import ReconnectionStrategy

                if self._manager.connection_state == ConnectionState.RECONNECTING_FAILED:
                    # The SDK refuses to start a reconnection from this state.
                    self._manager.connection_state = ConnectionState.IDLE
                # A rejoin closes the old socket synchronously (~2 s of thread joins on the
                # event loop): close it on a worker thread first, off the loop, and let that
                # finish so the SFU does not see the old socket close after the rejoin.
                closing = close_signaling_in_background(self._manager)
                if closing is not None:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(asyncio.shield(closing), 3.0)
                lock = getattr(reconnector, "_reconnect_lock", None)
                if lock is not None and lock.locked():
                    # The SDK's own reconnection loop is still running: with the state reset
                    # it goes on to its REJOIN attempt; a second request would rejoin twice.
                    continue
                await reconnector.reconnect(
                    strategy=ReconnectionStrategy.REJOIN, reason="watchdog: signaling socket dead"
                )
            except Exception as exc:
                logger.error(f"watchdog reconnect failed: {exc!r}")
