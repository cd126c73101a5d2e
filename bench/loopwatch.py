"""Where the bot process's event loop loses time: lag, stalls, slow callbacks, GC pauses.

Used by :mod:`bench.bot_side` (either implementation's interpreter), standard library and
numpy only.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np


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


def awaits_summary() -> list[list[Any]]:
    return [[n, text] for text, n in sorted(_AWAITS.items(), key=lambda kv: -kv[1])[:10]]
