"""Scale: N bots in one process, each in its own call with a participant, all speaking.

N grows through ``scale_steps`` (bots and participants are added, not restarted) and every
step streams ``scale_secs`` of speech in every call at once (see :mod:`bench.scen_pacing`).
The run stops after the first step where a bot starved its track, or where the machine's
CPU is exhausted. Underruns heard while the bots kept up are the local server's (it decodes
and re-encodes every stream on one Python thread) and are attributed to it. Reported per
step: CPU of the bot process per call, event-loop lag, underruns, drift, audio lost after
the bot, and the CPU of the peers and server processes.
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
    for n in steps:
        try:
            joined = await add_calls(ctx, running, n - running)
        except Exception as exc:
            results.append({"calls": n, "error": f"{type(exc).__name__}: {exc}"})
            break
        running = n
        window = await stream_window(ctx, n, secs)
        window["bot_join_s_max"] = round(max(joined["bot_join_s"]), 3)
        sent = max(1, window["bot_frames_sent"])
        lost = max(0, sent - window["heard_chunks_total"])
        window["lost_after_bot_pct"] = round(100 * lost / sent, 1)
        window["limited_by"] = (
            "bot"
            if window["bot_side_underruns"]
            else "server/participants"
            if window["underruns"] or window["calls_heard_nothing"]
            else None
        )
        results.append(window)
        # Heard losses alone come from the local server: go on while the bots keep up.
        if window["bot_side_underruns"] or window["cpu_machine_pct"] > 190:
            break
    ok = [r for r in results if "error" not in r]

    def largest(clean: Any) -> int:
        best = 0
        for r in ok:
            if not clean(r):
                break
            best = r["calls"]
        return best

    def per_call(n: int) -> float | None:
        return next((r["cpu_per_call_pct"] for r in ok if r["calls"] == n), None)

    return {
        "headline": {
            "largest_clean_n": largest(
                lambda r: (
                    not (r["underruns"] or r["bot_side_underruns"] or r["calls_heard_nothing"])
                )
            ),
            "largest_bot_clean_n": largest(lambda r: not r["bot_side_underruns"]),
            "first_n_with_underruns": next(
                (
                    r["calls"]
                    for r in ok
                    if r["underruns"] or r["bot_side_underruns"] or r["calls_heard_nothing"]
                ),
                None,
            ),
            "cpu_one_call_pct": per_call(1),
            "cpu_per_call_at_8_pct": per_call(8),
            "cpu_per_call_at_16_pct": per_call(16),
            "scale_loop_lag_max_ms": max((r["loop_lag"]["max_ms"] for r in ok), default=None),
        },
        "details": {"steps": results, "step_secs": secs},
    }
