"""Scale: N bots in one process, each in its own call with a participant, all speaking.

N grows through ``scale_steps`` (bots and participants are added, not restarted) and every
step streams ``scale_secs`` of speech in every call at once (see :mod:`bench.scen_pacing`).
The run stops after the first step with underruns (heard by a participant or starved at a
bot's track). Reported per step: CPU of the bot process per call, event-loop lag, underruns,
drift, and the CPU of the peers and server processes (the local server's share of the
machine is large: it decodes and re-encodes every stream).
"""

from __future__ import annotations

from typing import Any

from bench.harness import Ctx
from bench.scen_pacing import add_calls, stream_window


async def run(ctx: Ctx) -> dict[str, Any]:
    steps = [int(n) for n in ctx.settings["scale_steps"]]
    secs = float(ctx.settings["scale_secs"])
    results: list[dict[str, Any]] = []
    running = 0
    largest_clean = 0
    for n in steps:
        try:
            joined = await add_calls(ctx, running, n - running)
        except Exception as exc:
            results.append({"calls": n, "error": f"{type(exc).__name__}: {exc}"})
            break
        running = n
        window = await stream_window(ctx, n, secs)
        window["bot_join_s_max"] = round(max(joined["bot_join_s"]), 3)
        results.append(window)
        if window["underruns"] or window["bot_side_underruns"]:
            break
        largest_clean = n
    by_n = {r["calls"]: r for r in results if "error" not in r}

    def per_call(n: int) -> float | None:
        return by_n[n]["cpu_per_call_pct"] if n in by_n else None

    return {
        "headline": {
            "largest_clean_n": largest_clean,
            "first_n_with_underruns": next(
                (r["calls"] for r in results if r.get("underruns") or r.get("bot_side_underruns")),
                None,
            ),
            "cpu_one_call_pct": per_call(1),
            "cpu_per_call_at_8_pct": per_call(8),
            "cpu_per_call_at_16_pct": per_call(16),
            "scale_loop_lag_max_ms": max(
                (r["loop_lag"]["max_ms"] for r in by_n.values()), default=None
            ),
        },
        "details": {"steps": results, "step_secs": secs},
    }
