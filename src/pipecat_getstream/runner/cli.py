"""The command line: ``python -m pipecat_getstream.runner bot:bot`` or ``run(bot)`` in bot.py."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import NoReturn

from loguru import logger

from pipecat_getstream.runner.config import RunnerConfig
from pipecat_getstream.runner.server import AgentServer, Warmup
from pipecat_getstream.runner.sessions import Bot


def load_bot(spec: str) -> Bot:
    """Import ``"module:function"`` (the function defaults to ``bot``).

    Raises:
        ValueError: If the module or function cannot be found or is not callable.

    """
    module_name, _, name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r}: {exc}") from exc
    bot = getattr(module, name or "bot", None)
    if not callable(bot):
        raise ValueError(f"{spec!r} names no callable bot (expected module:function)")
    return bot  # type: ignore[no-any-return]


def parser(prog: str) -> argparse.ArgumentParser:
    """The options of the agent server (each setting; secrets only from the environment)."""
    result = argparse.ArgumentParser(
        prog=prog,
        description="Run a Pipecat bot as a service that joins GetStream calls on request.",
        epilog="Credentials: STREAM_API_KEY, STREAM_API_SECRET, GETSTREAM_BASE_URL; the "
        "sessions API token: RUNNER_API_TOKEN.",
    )
    RunnerConfig.add_arguments(result)
    return result


def run(bot: Bot, argv: Sequence[str] | None = None, *, warmup: Warmup | None = None) -> None:
    """Serve ``bot`` with settings from the command line and environment; exits when drained.

    Args:
        bot: ``async def bot(runner_args)``.
        argv: Command-line arguments (default ``sys.argv[1:]``).
        warmup: Awaited once before the server reports ready.

    """
    args = parser(sys.argv[0]).parse_args(argv)
    try:
        config = RunnerConfig.from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    server = AgentServer(bot, config, warmup=warmup)
    loop = asyncio.new_event_loop()
    try:
        code = loop.run_until_complete(server.serve())
        stuck = loop.run_until_complete(_cancel_leftovers(config.stop_grace_s))
    finally:
        loop.close()
    _exit(code, stuck, config.stop_grace_s)


async def _cancel_leftovers(grace_s: float) -> int:
    """Cancel the tasks still pending after serving; return how many ignored it."""
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    for task in tasks:
        task.cancel()
    if not tasks:
        return 0
    _, pending = await asyncio.wait(tasks, timeout=grace_s)
    return len(pending)


def _exit(code: int, stuck_tasks: int, grace_s: float) -> NoReturn:
    """Exit with ``code``, without hanging on what a bot left behind.

    The sessions have ended and their bots have left their calls. A task that ignored
    cancellation, or a non-daemon thread an SDK left running, would keep the interpreter
    from exiting: after ``grace_s`` the process exits at once instead.
    """
    deadline = time.monotonic() + grace_s
    while _foreground_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    left = _foreground_threads()
    if stuck_tasks or left:
        logger.warning(
            "agent server exiting with {} past {} stuck task(s) and threads {}",
            code,
            stuck_tasks,
            left,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    logger.info("agent server exiting with {}", code)
    sys.exit(code)


def _foreground_threads() -> list[str]:
    main = threading.main_thread()
    return [t.name for t in threading.enumerate() if t is not main and not t.daemon]


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m pipecat_getstream.runner module:function [options]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        parser("python -m pipecat_getstream.runner module:function").print_help()
        sys.exit(2)
    sys.path.insert(0, ".")
    try:
        bot = load_bot(argv[0])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    run(bot, argv[1:])
