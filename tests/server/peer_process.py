"""``peer.py`` run as a child process: its JSON lines, its stderr, and a clean stop.

Both the cross-SDK server test and the 3.x-6.x screen-share test run a participant of the
other SDK generation this way (one environment holds one SDK). When the child ends or
stalls, the error says how it ended (its exit status, a signal) and shows its stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PEER_SCRIPT = ROOT / "tests" / "server" / "peer.py"


class PeerProcess:
    """A running ``peer.py``: read its events, tell it to leave."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process, self.log = process, log

    @property
    def returncode(self) -> int | None:
        """The exit status once it has ended (negative: the signal that ended it)."""
        return self.process.returncode

    def describe(self) -> str:
        """How the child stands, and the end of its stderr."""
        code = self.process.returncode
        if code is None:
            state = "still running"
        elif code < 0:
            state = f"killed by {signal.Signals(-code).name}"
        else:
            state = f"exited with status {code}"
        tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
        return f"the peer {state}; its stderr:\n{tail or '(empty)'}"

    async def next_event(self, timeout: float) -> dict[str, Any]:
        """The next ``{"event": ...}`` line it prints.

        Raises:
            AssertionError: When it ends or prints nothing in ``timeout`` seconds (the
                message has its exit status and stderr).

        """
        assert self.process.stdout is not None
        while True:
            try:
                line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
            except asyncio.TimeoutError:
                raise AssertionError(f"no event in {timeout} s: {self.describe()}") from None
            except asyncio.CancelledError:
                print(f"cancelled while waiting for the peer: {self.describe()}", file=sys.stderr)
                raise
            if not line:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.process.wait(), 5)
                raise AssertionError(f"the peer's output ended: {self.describe()}")
            with contextlib.suppress(json.JSONDecodeError):
                message = json.loads(line)
                if isinstance(message, dict) and "event" in message:
                    return message

    async def tell_to_leave(self) -> None:
        """Ask it to leave the call (it exits after leaving)."""
        assert self.process.stdin is not None
        with contextlib.suppress(Exception):
            self.process.stdin.write(b"leave\n")
            await self.process.stdin.drain()


@contextlib.asynccontextmanager
async def run_peer(python: str | Path, args: list[str], log: Path) -> AsyncIterator[PeerProcess]:
    """Run ``peer.py`` with ``args`` under ``python``; its stderr goes to ``log``.

    On exit it is told to leave, given 20 s to do so, then killed.
    """
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            str(python),
            "-X",
            "faulthandler",  # a crash in native code still leaves a trace in the log
            str(PEER_SCRIPT),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            cwd=ROOT,
        )
    peer = PeerProcess(process, log)
    try:
        yield peer
    finally:
        await peer.tell_to_leave()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(process.wait(), 20)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
