"""Launching the three processes of a benchmark run: server, peers and bots.

Every scenario of every implementation gets a fresh set: the local server
(``python -m pipecat_getstream.testing``), the peers process (SDK participants) and the bot
process (this project's interpreter, or the reference virtual environment's).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.channel import Child

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Impl:
    """An implementation under test."""

    name: str  # "ours", "reference", "reference-0.1.0"
    kind: str  # "ours" or "reference"
    python: str
    version: str = ""


class ServerProc:
    """The local server in its own process, via the project's standalone command."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None
        self.creds: dict[str, str] = {}

    async def start(self, timeout: float = 60.0) -> dict[str, str]:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it open
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pipecat_getstream.testing",
            "--port",
            "0",
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            cwd=str(ROOT),
        )
        log.close()
        assert self.proc.stdout is not None
        names = {
            "STREAM_API_KEY": "api_key",
            "STREAM_API_SECRET": "api_secret",
            "GETSTREAM_BASE_URL": "base_url",
        }
        deadline = time.monotonic() + timeout
        while len(self.creds) < 3:
            line = await asyncio.wait_for(self.proc.stdout.readline(), deadline - time.monotonic())
            if not line:
                raise RuntimeError(f"local server exited; see {self.log_path}")
            text = line.decode().strip()
            if text.startswith("export ") and "=" in text:
                key, value = text[len("export ") :].split("=", 1)
                if key in names:
                    self.creds[names[key]] = value
        return self.creds

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        # SIGINT stops it gracefully, but a background shell starts children with SIGINT
        # ignored; then SIGTERM (nothing is measured any more at this point).
        for sig, wait in ((signal.SIGINT, 3.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 10.0)):
            self.proc.send_signal(sig)
            try:
                await asyncio.wait_for(self.proc.wait(), wait)
                return
            except asyncio.TimeoutError:
                continue


def runqueue_wait_seconds(pid: int) -> float:
    """Seconds the main thread of ``pid`` has spent runnable but waiting for a CPU (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
        return int(fields[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (all its threads)."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _own_cpu() -> float:
    """CPU seconds of this benchmark: this process and all its descendants."""
    me = psutil.Process()
    mine = me.cpu_times()
    total = mine.children_user + mine.children_system  # children already reaped
    for proc in [me, *me.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


class ForeignMeter:
    """CPU used by processes outside this benchmark between ``start()`` and ``read()``."""

    def start(self) -> ForeignMeter:
        self._t = (sum(psutil.cpu_times()[:3]), _own_cpu(), time.monotonic())
        return self

    def read(self) -> float:
        """In % of one core."""
        machine, own, t = sum(psutil.cpu_times()[:3]), _own_cpu(), time.monotonic()
        used = (machine - self._t[0]) - (own - self._t[1])
        return round(100 * max(0.0, used) / max(1e-6, t - self._t[2]), 1)


async def foreign_load(secs: float = 2.0) -> float:
    """CPU used by processes outside this benchmark over ``secs``, in % of one core."""
    machine0, own0, t0 = sum(psutil.cpu_times()[:3]), _own_cpu(), time.monotonic()
    await asyncio.sleep(secs)
    machine1, own1, t1 = sum(psutil.cpu_times()[:3]), _own_cpu(), time.monotonic()
    return round(100 * max(0.0, (machine1 - machine0) - (own1 - own0)) / (t1 - t0), 1)


async def wait_until_quiet(limit_pct: float = 15.0, max_wait: float = 900.0) -> dict[str, Any]:
    """Wait (up to ``max_wait``) until other processes use under ``limit_pct`` of a core.

    The machine is small (2 cores) and may be shared: a test suite running beside the
    benchmark would be measured as the transport's slowness.
    """
    start = time.monotonic()
    load = await foreign_load()
    while load > limit_pct and time.monotonic() - start < max_wait:
        print(f"[bench] other processes use {load:.0f}% of a core; waiting", flush=True)
        await asyncio.sleep(10)
        load = await foreign_load()
    return {"foreign_load_pct": load, "waited_s": round(time.monotonic() - start, 1)}


@dataclass
class Ctx:
    """What a scenario gets: the three processes of one implementation, and the settings."""

    impl: Impl
    settings: dict[str, Any]
    log_dir: Path
    server: ServerProc | None = None
    peers: Child | None = None
    bot: Child | None = None
    creds: dict[str, str] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    #: The interpreter of the participants' process; by default one with an aiortc-based
    #: SDK (``venvs.aiortc_python``), whose media path the participants' probes read.
    peers_python: str = ""

    async def __aenter__(self) -> Ctx:
        tag = f"{self.impl.name}-{uuid.uuid4().hex[:6]}"
        self.server = ServerProc(self.log_dir / f"{tag}-server.log")
        self.creds = await self.server.start()
        self.peers = await Child(
            "peers",
            [self.peers_python or _aiortc_python(), "-m", "bench.peers"],
            self.log_dir / f"{tag}-peers.log",
            cwd=ROOT,
        ).start()
        self.bot = await Child(
            f"bot[{self.impl.name}]",
            [self.impl.python, "-m", "bench.bot_side", "--impl", self.impl.kind],
            self.log_dir / f"{tag}-bot.log",
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT)},
        ).start()
        _, self.versions = await asyncio.gather(
            self.peers.call("init", **self.creds),
            self.bot.call(
                "init",
                timeout=180,
                track_rate=int(self.settings.get("bot_out_rate", 16000)),
                slow_callbacks=bool(self.settings.get("slow_callbacks", False)),
                writer_lead_secs=self.settings.get("writer_lead_secs"),
                **self.creds,
            ),
        )
        return self

    async def __aexit__(self, *exc: Any) -> None:
        # Nothing is measured any more: the children are asked to exit and killed if they
        # linger (a reference bot can take seconds per call to leave).
        for child in (self.bot, self.peers):
            if child is not None:
                with contextlib.suppress(Exception):
                    await child.close(timeout=5)
        if self.server is not None:
            await self.server.stop()

    @property
    def B(self) -> Child:  # noqa: N802 - short handle used by every scenario
        assert self.bot is not None
        return self.bot

    @property
    def P(self) -> Child:  # noqa: N802
        assert self.peers is not None
        return self.peers

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of the bot, peers and server processes."""
        assert self.bot and self.peers and self.server
        return {
            "bot": cpu_seconds(self.bot.pid),
            "peers": cpu_seconds(self.peers.pid),
            "server": cpu_seconds(self.server.pid),
            "bot_loop_waiting": runqueue_wait_seconds(self.bot.pid),
            "load": sum(psutil.cpu_times()[:3]),  # user + nice + system of the machine
            "own": _own_cpu(),
            "t": time.monotonic(),
        }


def _aiortc_python() -> str:
    from bench import venvs  # venvs imports this module

    return venvs.aiortc_python()


def new_call(prefix: str) -> str:
    """A fresh call id."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cpu_share(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Each process's CPU between two :meth:`Ctx.cpu` readings, in % of one core."""
    wall = max(1e-6, after["t"] - before["t"])
    return {k: round(100 * (after[k] - before[k]) / wall, 1) for k in before if k != "t"}


async def wait_for(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    """Poll an async ``predicate`` until true or ``timeout``; returns whether it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(interval)
    return False
