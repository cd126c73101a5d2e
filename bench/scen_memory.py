"""Memory: the bot process's RSS over a long call.

One bot, one participant who talks (so input audio flows all the time). The bot speaks
4-second utterances TTS-style with a 1-second pause; every third utterance is interrupted
half-way. RSS is sampled every ``memory_sample_secs``. Reported: RSS after warm-up, at the
end, and the growth rate fitted over the second half of the run (flat = no leak).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np

from bench.harness import Ctx
from bench.scen_pacing import add_calls


async def run(ctx: Ctx) -> dict[str, Any]:
    secs = float(ctx.settings["memory_secs"])
    every = float(ctx.settings["memory_sample_secs"])
    await add_calls(ctx, 0, 1)
    await asyncio.sleep(1.0)
    samples: list[list[float]] = []
    lag_max = 0.0
    start = time.monotonic()
    next_sample = start
    k = 0

    async def sample() -> None:
        nonlocal lag_max
        stats = await ctx.B.call("stats", since=time.monotonic() - every)
        samples.append([round(stats["t"] - start, 2), round(stats["rss_mb"], 2)])
        lag_max = max(lag_max, stats["lag"]["max_ms"])

    while time.monotonic() - start < secs:
        await ctx.B.call(
            "speak", secs=4.0, bots=[0], speed=4.0, max_ahead=float(ctx.settings["tts_ahead_secs"])
        )
        interrupted = k % 3 == 2
        cycle = min(5.0, max(1.0, secs - (time.monotonic() - start)))
        cycle_end = time.monotonic() + (min(2.0, cycle) if interrupted else cycle)
        while time.monotonic() < cycle_end:
            if time.monotonic() >= next_sample:
                await sample()
                next_sample += every
            await asyncio.sleep(0.1)
        if interrupted:
            await ctx.B.call("interrupt", bot=0)
            await asyncio.sleep(1.0)
        k += 1
        await ctx.B.call("trim", before=time.monotonic() - 60)
    await sample()
    t = np.array([s[0] for s in samples])
    rss = np.array([s[1] for s in samples])
    warm = rss[t >= min(30.0, secs * 0.2)] if len(rss) else rss
    half = t >= t[-1] / 2 if len(t) else t
    slope = float(np.polyfit(t[half], rss[half], 1)[0]) * 3600 if half.sum() >= 3 else 0.0
    return {
        "headline": {
            "rss_after_warmup_mb": round(float(warm[0]), 1) if len(warm) else None,
            "rss_end_mb": round(float(rss[-1]), 1) if len(rss) else None,
            "rss_growth_mb_per_hour": round(slope, 1),
        },
        "details": {"secs": secs, "utterances": k, "series": samples, "loop_lag_max_ms": lag_max},
    }
