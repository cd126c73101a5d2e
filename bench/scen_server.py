"""Server: the local server's own path latency and its CPU per forwarded stream.

No bot takes part: SDK participants talk to each other through the server (in its own
process). First one call of two participants measures the path participant -> server ->
participant on 300 ms tone bursts (the talker's track emitting a burst -> the listener's SDK
delivering it). Then two-way calls of continuously talking pairs are added step by step; in
each step every participant hears the other for ``scale_secs`` and the server's CPU is read
from its process. A forwarded stream is one participant's audio reaching one listener, so a
two-way call is two streams. A step is clean when no listener heard a gap in the speech.
The run stops after the first step that is not clean or when the machine's CPU is exhausted.
Talker underruns (a participant's own track starved of audio) are counted apart: they are
gaps made in the participants' process, before the server.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.harness import Ctx, cpu_share, new_call, wait_for
from bench.scen_latency import hears, join_talker_and_listener, measure_path, never_heard


async def _path(ctx: Ctx, reps: int) -> dict[str, Any]:
    call = new_call("srvlat")
    await join_talker_and_listener(ctx, call, "lat-a", "lat-b")
    await asyncio.sleep(float(ctx.settings["settle_secs"]))
    since = time.monotonic()
    await asyncio.sleep(reps + 0.8)
    path = await measure_path(ctx, "lat-a", "lat-b", since)
    await ctx.P.call("leave", users=["lat-a", "lat-b"])
    return {"ms": path["ms"], "missed": path["heard"].count(None)}


async def _add_pairs(ctx: Ctx, start: int, count: int) -> list[list[str]]:
    people, pairs = [], []
    for i in range(start, start + count):
        call = new_call(f"srv{i}")
        a, b = f"s{i}-a", f"s{i}-b"
        people += [
            {"call_id": call, "user_id": a, "talk": "tone", "freq": 440.0},
            {"call_id": call, "user_id": b, "talk": "tone", "freq": 660.0},
        ]
        pairs += [[a, b], [b, a]]
    # One side of every call first, then the other (see join_talker_and_listener).
    await ctx.P.call("join", people=people[0::2], timeout=180)
    await ctx.P.call("join", people=people[1::2], timeout=180)
    for listener, talker in pairs:
        if not await wait_for(lambda li=listener, ta=talker: hears(ctx, li, ta), 30):
            raise await never_heard(ctx, listener, talker)
    return pairs


async def _talker_underruns(ctx: Ctx, users: list[str]) -> int:
    sent = [await ctx.P.call("sent", user=u) for u in users]
    return sum(int(s.get("underruns") or 0) for s in sent)


async def _window(ctx: Ctx, pairs: list[list[str]], secs: float) -> dict[str, Any]:
    users = sorted({u for pair in pairs for u in pair})
    await ctx.P.call("clear", users=users)
    underruns_before = await _talker_underruns(ctx, users)
    since = time.monotonic()
    before = ctx.cpu()
    await asyncio.sleep(secs)
    after = ctx.cpu()
    until = time.monotonic()
    heard = await ctx.P.call("speech_all", pairs=pairs, since=since, until=until, timeout=120)
    share = cpu_share(before, after)
    streams = len(pairs)
    gaps = sum(int(h.get("gaps") or 0) for h in heard)
    # Starved talker tracks: gaps made in the participants' own process, before the server.
    talker_underruns = await _talker_underruns(ctx, users) - underruns_before
    silent = sum(1 for h in heard if not h.get("speech_secs"))
    return {
        "calls": streams // 2,
        "streams": streams,
        "server_cpu_pct": share["server"],
        "server_cpu_per_stream_pct": round(share["server"] / streams, 2),
        "peers_cpu_pct": share["peers"],
        "cpu_machine_pct": round(share["load"], 1),
        "gaps_heard": gaps,
        "gap_ms": sorted(g for h in heard for g in h.get("gap_ms") or [])[-10:],
        "talker_underruns": talker_underruns,
        "listeners_heard_nothing": silent,
        "speech_secs_min": min(float(h.get("speech_secs") or 0.0) for h in heard),
        "clean": gaps == 0 and silent == 0,
    }


async def run(ctx: Ctx) -> dict[str, Any]:
    reps = int(ctx.settings["latency_reps"])
    secs = float(ctx.settings["scale_secs"])
    steps = [int(n) for n in ctx.settings.get("server_steps", ctx.settings["scale_steps"])]
    path = await _path(ctx, reps)
    results: list[dict[str, Any]] = []
    pairs: list[list[str]] = []
    running = 0
    for n in steps:
        try:
            pairs += await _add_pairs(ctx, running, n - running)
        except Exception as exc:
            results.append({"calls": n, "error": f"{type(exc).__name__}: {exc}"})
            break
        running = n
        step = await _window(ctx, pairs, secs)
        results.append(step)
        print(f"[bench] server step: {step}", flush=True)
        if not step["clean"] or step["cpu_machine_pct"] > 190:
            break
    ok = [r for r in results if "error" not in r]
    clean = 0
    for r in ok:
        if not r["clean"]:
            break
        clean = r["calls"]

    def per_stream(n: int) -> float | None:
        return next((r["server_cpu_per_stream_pct"] for r in ok if r["calls"] == n), None)

    return {
        "headline": {
            "server_path_ms": path["ms"]["median"],
            "server_cpu_per_stream_at_1_pct": per_stream(1),
            "server_cpu_per_stream_at_8_pct": per_stream(8),
            "largest_clean_two_way_calls": clean,
        },
        "details": {"path": path, "steps": results, "step_secs": secs},
    }
