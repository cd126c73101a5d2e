"""The command line: ``python -m pipecat_getstream.runner bot:bot`` or ``run(bot)`` in bot.py."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence

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
    code = asyncio.run(AgentServer(bot, config, warmup=warmup).serve())
    logger.info("agent server exiting with {}", code)
    sys.exit(code)


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
