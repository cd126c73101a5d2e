"""The agent server: sessions, webhooks and metrics behind uvicorn, with a graceful drain.

``AgentServer(bot, config)`` holds one process's state; :meth:`AgentServer.serve` runs
it with uvicorn. On SIGTERM (or SIGINT) the server stops taking sessions (``/ready``
fails, starts get ``503``), lets live sessions finish for up to ``drain_timeout_s``, ends
the rest (their bots leave their calls), stops serving and returns 0. A second signal
ends the live sessions at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI
from loguru import logger

from pipecat_getstream.runner.app import create_app
from pipecat_getstream.runner.config import RunnerConfig
from pipecat_getstream.runner.metrics import RunnerMetrics
from pipecat_getstream.runner.sessions import Bot, SessionManager
from pipecat_getstream.runner.webhooks import DeliveryLog

Warmup = Callable[[], Awaitable[None]]


class _QuietServer(uvicorn.Server):
    """uvicorn's server without its own signal handlers: the agent server drains instead."""

    def install_signal_handlers(self) -> None:  # uvicorn before 0.29
        return None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # uvicorn 0.29 and later
        yield


class AgentServer:
    """One agent server process: its sessions, webhook log, metrics and readiness.

    Args:
        bot: ``async def bot(runner_args)``, run once per session.
        config: The server's settings.
        warmup: Awaited once before the server reports ready (load models, open pools).

    Example:
        >>> server = AgentServer(bot, RunnerConfig.from_env())  # doctest: +SKIP
        >>> asyncio.run(server.serve())  # doctest: +SKIP

    """

    def __init__(self, bot: Bot, config: RunnerConfig, *, warmup: Warmup | None = None) -> None:
        self.config = config
        self.metrics = RunnerMetrics(config.max_sessions)
        self.sessions = SessionManager(config, bot, self.metrics)
        self.deliveries = DeliveryLog(config.dedupe_size)
        self._warmup = warmup
        self.warm = False
        self.url: str | None = None
        self._uvicorn: Any = None
        self._draining: asyncio.Task[tuple[int, int]] | None = None

    # -------------------------------------------------------------- readiness
    def not_ready_because(self) -> str | None:
        """Why ``/ready`` fails now, or ``None`` when the server takes sessions."""
        if not self.warm:
            return "warming up"
        if not self.sessions.accepting:
            return "draining"
        if self.sessions.at_capacity:
            return "at capacity"
        return None

    async def warm_up(self) -> None:
        """Run the warm-up hook (once); the server is ready afterwards."""
        if not self.warm:
            if self._warmup is not None:
                await self._warmup()
            self.warm = True
            self.metrics.ready.set(1)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        """FastAPI lifespan: warm up on startup; on shutdown end the sessions still live."""
        await self.warm_up()
        try:
            yield
        finally:
            if self.sessions.live:
                await self.sessions.drain(0.0)

    def app(self) -> FastAPI:
        """A FastAPI app with the server's routes (see :mod:`pipecat_getstream.runner.app`)."""
        return create_app(self)

    # ------------------------------------------------------------------ drain
    def begin_drain(self) -> None:
        """Start draining (idempotent); a second call ends live sessions at once."""
        if self._draining is None:
            logger.info("agent server: draining")
            self._draining = asyncio.get_running_loop().create_task(self._drain())
            return
        logger.info("agent server: second signal, ending every session now")
        for session in self.sessions.live:
            self.sessions.request_stop(session.id, "drain")

    async def _drain(self) -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        finished, ended = await self.sessions.drain()
        logger.info(
            "agent server: drained in {:.2f} s ({} finished, {} ended)",
            loop.time() - started,
            finished,
            ended,
        )
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        return finished, ended

    # ------------------------------------------------------------------ serve
    async def serve(self, *, handle_signals: bool = True) -> int:
        """Serve HTTP until drained (or :meth:`shutdown`); returns the exit code (0).

        Args:
            handle_signals: Drain on SIGTERM and SIGINT (the loop's handlers, removed on
                return). ``False`` when the caller owns the signals.

        """
        config = uvicorn.Config(
            self.app(),
            host=self.config.host,
            port=self.config.port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        server = _QuietServer(config)
        self._uvicorn = server
        logger.info("agent server settings: {}", self.config.safe_dict)
        with self._signals(handle_signals):
            serving = asyncio.ensure_future(server.serve())
            while not server.started and not serving.done():
                await asyncio.sleep(0.01)
            if server.started:
                host, port = server.servers[0].sockets[0].getsockname()[:2]
                self.url = f"http://{host}:{port}"
                logger.info("agent server listening on {}", self.url)
            await serving
        if self._draining is not None:
            await self._draining
        self._uvicorn = None
        logger.info("agent server stopped")
        return 0

    def shutdown(self) -> None:
        """Stop serving now (live sessions are ended by the app's lifespan)."""
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True

    @contextlib.contextmanager
    def _signals(self, enabled: bool) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        wanted = (signal.SIGTERM, signal.SIGINT) if enabled else ()
        installed = []
        for sig in wanted:
            try:
                loop.add_signal_handler(sig, self.begin_drain)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
                logger.warning("agent server: cannot handle {} here", sig.name)
        try:
            yield
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
