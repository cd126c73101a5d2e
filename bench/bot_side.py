"""The bot process: N bots of one implementation, driven over the JSON-lines channel.

Run as ``<python> -m bench.bot_side --impl ours|reference`` with the working directory at the
project root; for the reference, ``<python>`` is the reference virtual environment's.
Everything measured here (CPU, event-loop lag, memory, the bots' own tracks) is this
process's own: the server and the participants run elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from bench import trackwatch
from bench.channel import serve
from bench.refpatch import keep_network_checks_local, point_reference_at
from bench.signals import Tone

try:
    import psutil
except ImportError:  # pragma: no cover - both venvs install it
    psutil = None


class LoopLag:
    """Sleeps 10 ms in a loop and records the overshoot (event-loop lag).

    A watchdog thread samples the event-loop thread's stack whenever the loop has not
    ticked for 40 ms, so every stall comes with evidence of where the time went.
    """

    def __init__(self, period: float = 0.01):
        self.period = period
        self.samples: list[tuple[float, float]] = []
        self.stall_stacks: list[tuple[float, str]] = []
        self._task: asyncio.Task[None] | None = None
        self._tick = time.monotonic()

    def start(self) -> None:
        self.gc_pauses: list[tuple[float, int, float]] = []
        self._gc_started = 0.0
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.create_task(self._run())
        loop_thread = threading.get_ident()
        threading.Thread(
            target=self._watchdog, args=(loop_thread,), daemon=True, name="bench-stall-watchdog"
        ).start()

    async def _run(self) -> None:
        while True:
            t = time.monotonic()
            await asyncio.sleep(self.period)
            now = time.monotonic()
            self._tick = now
            self.samples.append((now, (now - t - self.period) * 1000))

    def _watchdog(self, loop_thread: int) -> None:
        while True:
            time.sleep(0.02)
            if time.monotonic() - self._tick > 0.04 and len(self.stall_stacks) < 5000:
                frame = sys._current_frames().get(loop_thread)
                if frame is not None:
                    stack = traceback.extract_stack(frame)[-14:]
                    text = " <- ".join(
                        f"{Path(f.filename).name}:{f.lineno}:{f.name}" for f in reversed(stack)
                    )
                    self.stall_stacks.append((time.monotonic(), text))

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            took = (time.perf_counter() - self._gc_started) * 1000
            if took > 10:
                self.gc_pauses.append((time.monotonic(), info.get("generation", -1), took))

    def gc_window(self, since: float, until: float) -> list[list[float]]:
        """Garbage collections longer than 10 ms in the window: ``[t, generation, ms]``."""
        return [[round(t, 3), g, round(ms, 1)] for t, g, ms in self.gc_pauses if since <= t < until]

    def stalls(self, since: float, until: float) -> list[list[Any]]:
        """Stack samples taken during stalls in the window, most frequent first."""
        counts: dict[str, int] = {}
        for t, text in self.stall_stacks:
            if since <= t < until:
                counts[text] = counts.get(text, 0) + 1
        return [[n, text] for text, n in sorted(counts.items(), key=lambda kv: -kv[1])[:8]]

    def window(self, since: float, until: float) -> dict[str, Any]:
        lags = np.array([lag for t, lag in self.samples if since <= t < until] or [0.0])
        worst = sorted(((lag, t) for t, lag in self.samples if since <= t < until), reverse=True)
        return {
            "max_ms": round(float(lags.max()), 2),
            "p99_ms": round(float(np.percentile(lags, 99)), 2),
            "mean_ms": round(float(lags.mean()), 3),
            "over_50ms": int(np.sum(lags > 50)),
            "worst": [[round(t, 3), round(lag, 1)] for lag, t in worst[:5]],
        }

    def trim(self, before: float) -> None:
        self.samples = [s for s in self.samples if s[0] >= before]


_SLOW: list[tuple[float, float, str]] = []


def install_slow_callback_log(threshold: float = 0.03) -> None:
    """Record every event-loop callback that runs longer than ``threshold`` seconds.

    Wraps ``asyncio.Handle._run`` (a diagnostic: it costs about a microsecond per callback).
    For a task step, the task's coroutine and where it is suspended now are recorded.
    """
    original = asyncio.events.Handle._run

    def run(self: Any) -> None:
        start = time.perf_counter()
        original(self)
        took = time.perf_counter() - start
        if took >= threshold and len(_SLOW) < 2000:
            _SLOW.append((time.monotonic(), took * 1000, _describe_handle(self)))

    asyncio.events.Handle._run = run  # type: ignore[method-assign]


def _describe_handle(handle: Any) -> str:
    callback = getattr(handle, "_callback", None)
    task = getattr(callback, "__self__", None)
    if isinstance(task, asyncio.Task):
        coro = task.get_coro()
        frames = [
            f"{Path(f.f_code.co_filename).name}:{f.f_lineno}:{f.f_code.co_name}"
            for f in task.get_stack(limit=6)
        ]
        return f"task {getattr(coro, '__qualname__', coro)} now at " + " > ".join(frames)
    return repr(callback)[:200]


def slow_callbacks(since: float, until: float) -> list[list[Any]]:
    """Slow callbacks in the window: ``[t, ms, what]``."""
    return [[round(t, 3), round(ms, 1), what] for t, ms, what in _SLOW if since <= t < until]


_AWAITS: dict[str, int] = {}


async def sample_awaits(period: float = 0.1) -> None:
    """Every ``period``, note where each task is suspended (transport and SDK frames only).

    Used while bots end: the most frequent entries say what leaving waits for.
    """
    _AWAITS.clear()
    while True:
        for task in asyncio.all_tasks():
            frames = [f for f in task.get_stack(limit=30) if "getstream" in f.f_code.co_filename]
            if frames:
                text = " -> ".join(
                    f"{Path(f.f_code.co_filename).name}:{f.f_lineno}:{f.f_code.co_name}"
                    for f in frames[-4:]
                )
                _AWAITS[text] = _AWAITS.get(text, 0) + 1
        await asyncio.sleep(period)


def _awaits_summary() -> list[list[Any]]:
    return [[n, text] for text, n in sorted(_AWAITS.items(), key=lambda kv: -kv[1])[:10]]


class BotProcess:
    """Command handlers of the bot process."""

    def __init__(self, impl: str):
        self.impl = impl
        self.creds: dict[str, str] = {}
        self.bots: dict[int, Any] = {}
        self.lag = LoopLag()
        self._proc = psutil.Process() if psutil else None

    async def init(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        track_rate: int = 16000,
        slow_callbacks: bool = False,
    ) -> dict[str, Any]:
        if slow_callbacks:
            install_slow_callback_log()
        self.creds = {
            "base_url": base_url,
            "api_key": api_key,
            "api_secret": api_secret,
            "track_rate": str(track_rate),
        }
        keep_network_checks_local()
        trackwatch.install()
        if self.impl == "reference":
            point_reference_at(base_url)
        from importlib.metadata import version

        self.lag.start()
        return {
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "pipecat_getstream": version("pipecat-getstream"),
            "getstream": version("getstream"),
            "pipecat": version("pipecat-ai"),
        }

    async def start(
        self, call_ids: list[str], first_index: int = 0, timeout: float = 90.0
    ) -> list[float]:
        """Start one bot per call concurrently; returns start -> on_connected seconds each."""
        from bench.botunit import BotUnit

        units = []
        for k, call_id in enumerate(call_ids):
            index = first_index + k
            unit = BotUnit(index, self.impl, self.creds, call_id, f"bot-{index}")
            self.bots[index] = unit
            units.append(unit)
        return list(await asyncio.gather(*(u.start(timeout) for u in units)))

    def _select(self, bots: list[int] | None) -> list[Any]:
        return [self.bots[i] for i in (bots if bots is not None else sorted(self.bots))]

    async def say(self, bot: int, secs: float, freq: float = 660.0) -> float:
        return await self.bots[bot].say(Tone(freq, 16000).next(secs))

    async def speak(
        self,
        secs: float,
        bots: list[int] | None = None,
        chunk_secs: float = 0.1,
        speed: float = 4.0,
        max_ahead: float = 5.0,
        freq: float = 660.0,
    ) -> float:
        t = time.monotonic()
        for unit in self._select(bots):
            unit.speak(secs, chunk_secs, speed, max_ahead, freq)
        return t

    async def interrupt(self, bot: int) -> float:
        return await self.bots[bot].interrupt()

    async def watch(self, bots: list[int] | None = None, reset: bool = False) -> dict[str, Any]:
        """The bots' own tracks: onsets, last speech, starvation (see ``trackwatch``)."""
        return {str(u.index): trackwatch.summary(u.index, reset) for u in self._select(bots)}

    async def probe(self, bots: list[int] | None = None, reset: bool = False) -> dict[str, Any]:
        out = {}
        for unit in self._select(bots):
            out[str(unit.index)] = {"onsets": list(unit.probe.onsets), "frames": unit.probe.frames}
            if reset:
                unit.probe.onsets.clear()
        return out

    async def stats(self, since: float = 0.0, until: float | None = None) -> dict[str, Any]:
        """CPU seconds, RSS, and event-loop lag over ``[since, until)`` (monotonic)."""
        cpu = time.process_time()
        rss = self._proc.memory_info().rss if self._proc else 0
        until = until if until is not None else time.monotonic() + 1
        return {
            "t": time.monotonic(),
            "cpu_s": cpu,
            "rss_mb": rss / 2**20,
            "threads": len(self._proc.threads()) if self._proc else 0,
            "lag": self.lag.window(since, until),
            "stalls": self.lag.stalls(since, until),
            "gc_pauses": self.lag.gc_window(since, until),
            "slow_callbacks": slow_callbacks(since, until),
        }

    async def end(self, bots: list[int] | None = None, timeout: float = 120.0) -> dict[str, Any]:
        """End the bots together (``EndFrame``); returns each one's EndFrame -> gone seconds."""
        units = self._select(bots)
        t = time.monotonic()
        sampler = asyncio.create_task(sample_awaits())
        results = await asyncio.gather(*(u.end(timeout) for u in units), return_exceptions=True)
        out: dict[str, Any] = {"t0": t, "all_s": time.monotonic() - t, "each_s": []}
        sampler.cancel()
        out["awaiting"] = await asyncio.gather(sampler, return_exceptions=True)
        out["awaiting"] = _awaits_summary()
        for unit, result in zip(units, results, strict=True):
            out["each_s"].append(result if isinstance(result, float) else str(result))
            self.bots.pop(unit.index, None)
            trackwatch.watches.pop(unit.index, None)
        return out

    async def hush(self, bots: list[int] | None = None) -> None:
        """Stop pushing speech (what is queued still plays)."""
        for unit in self._select(bots):
            if unit.speaker is not None:
                unit.speaker.cancel()

    async def speaking_done(self, bots: list[int] | None = None) -> bool:
        return all(u.speaker is None or u.speaker.done() for u in self._select(bots))

    async def trim(self, before: float) -> None:
        self.lag.trim(before)

    async def cancel_all(self) -> None:
        await asyncio.gather(*(u.cancel() for u in self.bots.values()), return_exceptions=True)
        self.bots.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--impl", choices=("ours", "reference"), required=True)
    args = parser.parse_args()
    proc = BotProcess(args.impl)
    handlers = {
        name: getattr(proc, name)
        for name in (
            "init",
            "start",
            "say",
            "speak",
            "interrupt",
            "watch",
            "probe",
            "stats",
            "end",
            "speaking_done",
            "hush",
            "trim",
            "cancel_all",
        )
    }
    asyncio.run(serve(handlers))


if __name__ == "__main__":
    main()
