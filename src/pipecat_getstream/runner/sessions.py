"""Bot sessions: start within limits, supervise, end explicitly, drain.

Each session runs the user's ``bot(runner_args)`` in a task of its own beside a supervisor
that ends it when a limit is reached: alone in the call for ``idle_timeout_s``, running for
``max_duration_s``, not joined by ``join_timeout_s``, a stop request, or a drain. Ending is
explicit and bounded: an ``EndFrame`` to each registered pipeline task, then their
``cancel()``, then cancelling the bot's task, ``stop_grace_s`` for each step; whatever
happens, the session's transports leave the call. A bot that raises or hangs ends only its
own session.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from loguru import logger

from pipecat_getstream.call.validation import check_call_id, check_call_type
from pipecat_getstream.runner.config import RunnerConfig
from pipecat_getstream.runner.metrics import RunnerMetrics
from pipecat_getstream.runner.session import GetstreamRunnerArguments, runner_arguments
from pipecat_getstream.transport import GetstreamTransport

Bot = Callable[[GetstreamRunnerArguments], Awaitable[None]]

#: Ended sessions kept for ``GET /sessions/{id}``.
HISTORY = 256
#: How often a supervisor checks its session's limits (seconds).
TICK_S = 0.1


class SessionState(str, Enum):
    """Where a session is in its life."""

    STARTING = "starting"
    RUNNING = "running"
    ENDING = "ending"
    ENDED = "ended"
    FAILED = "failed"


class StartRefused(Exception):
    """A start request the server will not take now.

    Attributes:
        reason: ``"capacity"`` (try another replica), ``"draining"`` (likewise) or
            ``"call"`` (the call has its maximum of bots).
        retryable: Whether another replica (or later) may take it.

    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.retryable = reason in ("capacity", "draining")


@dataclass
class Session:
    """One bot in one call, as the server tracks it."""

    id: str
    args: GetstreamRunnerArguments
    source: str
    requested: float
    created_at: float = field(default_factory=time.time)
    state: SessionState = SessionState.STARTING
    join_s: float | None = None
    ended_at: float | None = None
    end_reason: str | None = None
    error: str | None = None
    call_ended: bool = False
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason: str | None = None
    task: asyncio.Task[None] | None = None

    @property
    def live(self) -> bool:
        """Whether the session has not ended yet."""
        return self.state not in (SessionState.ENDED, SessionState.FAILED)

    def as_json(self) -> dict[str, Any]:
        """The session as the sessions API shows it."""
        stamp = datetime.fromtimestamp(self.created_at, tz=timezone.utc).isoformat()
        end = self.ended_at if self.ended_at is not None else time.time()
        return {
            "session_id": self.id,
            "call_type": self.args.call_type,
            "call_id": self.args.call_id,
            "call_cid": self.args.call_cid,
            "source": self.source,
            "state": self.state.value,
            "created_at": stamp,
            "duration_s": round(end - self.created_at, 3),
            "join_s": None if self.join_s is None else round(self.join_s, 4),
            "end_reason": self.end_reason,
            "error": self.error,
        }


class SessionManager:
    """Starts, supervises and ends the bot sessions of one process.

    Args:
        config: The server's settings (limits, credentials).
        bot: The user's ``async def bot(runner_args)``.
        metrics: Where sessions are counted.

    """

    def __init__(self, config: RunnerConfig, bot: Bot, metrics: RunnerMetrics) -> None:
        self.config = config
        self.bot = bot
        self.metrics = metrics
        self.accepting = True
        self._live: dict[str, Session] = {}
        self._ended: OrderedDict[str, Session] = OrderedDict()

    # ---------------------------------------------------------------- queries
    @property
    def live(self) -> list[Session]:
        """Sessions not ended yet."""
        return list(self._live.values())

    @property
    def at_capacity(self) -> bool:
        """Whether a new session would be refused for capacity."""
        return len(self._live) >= self.config.max_sessions

    def get(self, session_id: str) -> Session | None:
        """A live or recently ended session."""
        return self._live.get(session_id) or self._ended.get(session_id)

    def in_call(self, call_type: str, call_id: str) -> list[Session]:
        """Live sessions in one call."""
        return [
            s
            for s in self._live.values()
            if (s.args.call_type, s.args.call_id) == (call_type, call_id)
        ]

    # ------------------------------------------------------------------ start
    def start(
        self,
        call_type: str,
        call_id: str,
        body: dict[str, Any] | None = None,
        *,
        source: str = "api",
        requested: float | None = None,
    ) -> Session:
        """Start a bot in a call (on the running loop); returns at once.

        Args:
            call_type: The call's type.
            call_id: The call's id.
            body: Per-call data for the bot (``runner_args.body``).
            source: What asked: ``"api"`` or the webhook event type.
            requested: ``time.monotonic()`` the request arrived (join latency starts there).

        Raises:
            StartRefused: When draining, at capacity, or the call has its maximum of bots.
            ValueError: If the call type or id is invalid.

        """
        check_call_type(call_type)
        check_call_id(call_id)
        refusal: StartRefused | None = None
        if not self.accepting:
            refusal = StartRefused("draining", "the server is draining; try another replica")
        elif self.at_capacity:
            refusal = StartRefused("capacity", f"at capacity ({self.config.max_sessions} sessions)")
        elif len(self.in_call(call_type, call_id)) >= self.config.max_sessions_per_call:
            refusal = StartRefused(
                "call",
                f"call {call_type}:{call_id} already has "
                f"{self.config.max_sessions_per_call} bot session(s)",
            )
        if refusal is not None:
            self.metrics.refused.labels(refusal.reason).inc()
            raise refusal
        session_id = uuid.uuid4().hex
        args = runner_arguments(
            call_type=call_type,
            call_id=call_id,
            body=dict(body or {}),
            session_id=session_id,
            api_key=self.config.api_key,
            api_secret=self.config.api_secret,
            base_url=self.config.base_url,
            bot_user_id=self.config.bot_user_id,
            source=source,
        )
        session = Session(
            session_id, args, source, time.monotonic() if requested is None else requested
        )
        args._on_transport = lambda transport: self._watch_transport(session, transport)
        self._live[session_id] = session
        self.metrics.active.set(len(self._live))
        self.metrics.started.labels(source).inc()
        session.task = asyncio.create_task(self._supervise(session), name=f"session-{session_id}")
        return session

    def _watch_transport(self, session: Session, transport: GetstreamTransport) -> None:
        async def connected(*_: Any) -> None:
            if session.join_s is None:
                session.join_s = time.monotonic() - session.requested
                self.metrics.join_seconds.observe(session.join_s)
                if session.state is SessionState.STARTING:
                    session.state = SessionState.RUNNING
                logger.bind(session_id=session.id, call_cid=session.args.call_cid).info(
                    "bot joined {} {:.0f} ms after the request",
                    session.args.call_cid,
                    session.join_s * 1000,
                )

        async def reconnecting(*_: Any) -> None:
            self.metrics.reconnects.inc()

        async def call_ended(*_: Any) -> None:
            session.call_ended = True

        transport.add_event_handler("on_connected", connected)
        transport.add_event_handler("on_reconnecting", reconnecting)
        transport.add_event_handler("on_call_ended", call_ended)

    # ------------------------------------------------------------------- stop
    def request_stop(self, session_id: str, reason: str = "stopped") -> Session | None:
        """Ask a live session to end (it ends within a few ``stop_grace_s``)."""
        session = self._live.get(session_id)
        if session is not None and session.stop_reason is None:
            session.stop_reason = reason
            session.stop.set()
        return session

    async def stop(self, session_id: str, reason: str = "stopped") -> Session | None:
        """End a live session and wait until it has ended; ``None`` if it is unknown."""
        session = self.request_stop(session_id, reason)
        if session is None:
            return self._ended.get(session_id)
        if session.task is not None:
            await asyncio.shield(session.task)
        return session

    async def drain(self, timeout_s: float | None = None) -> tuple[int, int]:
        """Stop taking sessions, let live ones finish up to ``timeout_s``, end the rest.

        Returns:
            How many sessions finished by themselves, and how many were ended.

        """
        self.accepting = False
        self.metrics.ready.set(0)
        timeout_s = self.config.drain_timeout_s if timeout_s is None else timeout_s
        tasks = {s.task for s in self._live.values() if s.task is not None}
        logger.info("draining: {} live session(s), up to {:.0f} s", len(tasks), timeout_s)
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        rest = self.live
        for session in rest:
            self.request_stop(session.id, "drain")
        left = {s.task for s in rest if s.task is not None}
        if left:
            await asyncio.wait(left)
        return len(tasks) - len(rest), len(rest)

    # ------------------------------------------------------------- supervision
    async def _supervise(self, session: Session) -> None:
        log = logger.bind(session_id=session.id, call_cid=session.args.call_cid)
        log.info(
            "session {} starting in {} ({})", session.id, session.args.call_cid, session.source
        )
        bot_task = asyncio.create_task(self._run_bot(session), name=f"bot-{session.id}")
        stop_wait = asyncio.create_task(session.stop.wait())
        reason: str | None = None
        failed = False
        alone_since: float | None = None
        config = self.config
        try:
            while not bot_task.done():
                await asyncio.wait(
                    {bot_task, stop_wait}, timeout=TICK_S, return_when="FIRST_COMPLETED"
                )
                if bot_task.done():
                    break
                now = time.monotonic()
                if session.stop_reason is not None:
                    reason = session.stop_reason
                elif session.join_s is None and now - session.requested > config.join_timeout_s:
                    reason, failed = "join timeout", True
                elif now - session.requested > config.max_duration_s:
                    reason = "max duration"
                elif session.join_s is not None:
                    if session.args.others():
                        alone_since = None
                    else:
                        alone_since = now if alone_since is None else alone_since
                        if now - alone_since > config.idle_timeout_s:
                            reason = "idle"
                if reason is not None:
                    session.state = SessionState.ENDING
                    log.info("ending session {}: {}", session.id, reason)
                    if not await self._end_bot(session, bot_task):
                        failed = True
                    break
            if bot_task.done() and not bot_task.cancelled() and bot_task.exception() is not None:
                exc = bot_task.exception()
                failed, session.error = True, f"{type(exc).__name__}: {exc}"
                log.opt(exception=exc).error("bot of session {} raised", session.id)
        finally:
            stop_wait.cancel()
            await self._finish(session, reason, failed, log)

    async def _run_bot(self, session: Session) -> None:
        with logger.contextualize(session_id=session.id, call_cid=session.args.call_cid):
            await self.bot(session.args)

    async def _end_bot(self, session: Session, bot_task: asyncio.Task[None]) -> bool:
        """End the bot explicitly, step by step; ``False`` if it ignored even cancellation."""
        grace = self.config.stop_grace_s
        tasks = session.args.pipeline_tasks
        if tasks:
            from pipecat.frames.frames import EndFrame

            for task in tasks:
                with contextlib.suppress(Exception):
                    await task.queue_frame(EndFrame())
            await asyncio.wait({bot_task}, timeout=grace)
            if not bot_task.done():
                for task in tasks:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(task.cancel(), grace)
                await asyncio.wait({bot_task}, timeout=grace)
        if not bot_task.done():
            bot_task.cancel()
            await asyncio.wait({bot_task}, timeout=grace)
        if not bot_task.done():
            session.error = "the bot did not end when cancelled"
            return False
        return True

    async def _finish(self, session: Session, reason: str | None, failed: bool, log: Any) -> None:
        try:
            await asyncio.wait_for(session.args.leave(), self.config.stop_grace_s)
        except (asyncio.TimeoutError, Exception) as exc:
            log.warning("session {}: leaving the call failed: {!r}", session.id, exc)
        if reason is None:
            reason = "call ended" if session.call_ended else "bot finished"
            if session.error is not None:
                reason = "bot raised"
        session.end_reason = reason
        session.ended_at = time.time()
        session.state = SessionState.FAILED if failed else SessionState.ENDED
        self._live.pop(session.id, None)
        self._ended[session.id] = session
        while len(self._ended) > HISTORY:
            self._ended.popitem(last=False)
        self.metrics.active.set(len(self._live))
        self.metrics.ended.labels(reason).inc()
        self.metrics.duration_seconds.observe(session.ended_at - session.created_at)
        if failed:
            self.metrics.failed.inc()
        log.info("session {} {} ({})", session.id, session.state.value, reason)
