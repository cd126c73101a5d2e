"""A JSON-lines request/response channel between the benchmark and its child processes.

The parent writes ``{"id", "cmd", "args"}`` lines to a child's stdin; the child answers each
with ``{"id", "ok", "result"}`` or ``{"id", "ok": false, "error"}`` on its stdout. Children keep
stdout for the channel only: everything else they print goes to stderr (a log file).

This module is imported by child processes that may run in the reference package's virtual
environment, so it depends on the standard library only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

Handler = Callable[..., Awaitable[Any]]
_TRACE = bool(os.environ.get("BENCH_TRACE"))


class ChildError(RuntimeError):
    """A command failed inside a child process."""


class Child:
    """A child process driven over the JSON-lines channel.

    Args:
        name: Label used in errors and the log file name.
        argv: Command line of the child.
        log_path: File receiving the child's stderr.
        cwd: Working directory.
        env: Extra environment variables.

    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.cwd = cwd
        self.env = {**os.environ, **(env or {})}
        self.proc: asyncio.subprocess.Process | None = None
        self._next = 0
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._log: Any = None

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> Child:
        """Launch the child and start reading its answers."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in close()
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
            cwd=str(self.cwd) if self.cwd else None,
            env=self.env,
            limit=64 * 1024 * 1024,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def call(self, cmd: str, timeout: float = 120.0, **args: Any) -> Any:
        """Run ``cmd`` in the child and return its result.

        Raises:
            ChildError: If the command failed or the child died.
            asyncio.TimeoutError: If no answer came within ``timeout`` seconds.

        """
        assert self.proc is not None and self.proc.stdin is not None
        self._next += 1
        ident = self._next
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        line = json.dumps({"id": ident, "cmd": cmd, "args": args}) + "\n"
        self.proc.stdin.write(line.encode())
        await self.proc.stdin.drain()
        started = time.monotonic()
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiting.pop(ident, None)
            if _TRACE:
                print(
                    f"[trace] {self.name}.{cmd}: {time.monotonic() - started:.3f}s",
                    file=sys.stderr,
                    flush=True,
                )

    async def close(self, timeout: float = 30.0) -> None:
        """Ask the child to exit; kill it if it does not."""
        if self.proc is None:
            return
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                await self.call("exit", timeout=timeout)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()
        if self._log is not None:
            self._log.close()

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            future = self._waiting.get(msg.get("id"))
            if future is None or future.done():
                continue
            if msg.get("ok"):
                future.set_result(msg.get("result"))
            else:
                future.set_exception(ChildError(f"{self.name}: {msg.get('error')}"))
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ChildError(f"{self.name} exited (log: {self.log_path})"))


def take_stdout() -> TextIO:
    """Keep the real stdout for the channel; send fd 1 (stray prints) to stderr."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


async def serve(handlers: dict[str, Handler]) -> None:
    """Answer commands from stdin with ``handlers`` until ``exit`` or end of input.

    Commands run concurrently as tasks, so a long command does not block the others.

    Args:
        handlers: Command name -> ``async def handler(**args)``.

    """
    out = take_stdout()
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read_stdin, name="bench-stdin", daemon=True).start()
    running: set[asyncio.Task[None]] = set()
    done = asyncio.Event()

    async def run_one(msg: dict[str, Any]) -> None:
        ident, cmd = msg.get("id"), msg.get("cmd", "")
        try:
            if cmd == "exit":
                result: Any = None
                done.set()
                lines.put_nowait(None)
            else:
                result = await handlers[cmd](**msg.get("args", {}))
            reply = {"id": ident, "ok": True, "result": result}
        except Exception as exc:  # reported to the parent, which raises it
            traceback.print_exc()
            reply = {"id": ident, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply, default=_jsonable) + "\n")

    while not done.is_set():
        line = await lines.get()
        if line is None:
            break
        if not line.strip():
            continue
        task = asyncio.create_task(run_one(json.loads(line)))
        running.add(task)
        task.add_done_callback(running.discard)
        await asyncio.sleep(0)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
