"""Pacing: long TTS-style speech pushed faster than real time, heard without gaps or drift.

N calls run in the bot process, each with one participant who listens (and, with the
setting ``pacing_participants_talk``, also talks, which about doubles the local server's and
the participants' load; on this 2-core machine 16 two-way calls saturate it). Every bot gets
``secs`` of a continuous tone in 100 ms chunks at 4x real time, never more than 5 s ahead
(a TTS service streaming sentences). The participant counts underruns (setbacks of the
speech timeline of >= 15 ms: inserted silence, as a 20 ms starved frame becomes after the
codec, or audio that never arrived) and the drift of the speech timeline against wall time;
the bot process counts starved frames at its own tracks, which says whether a gap started
in the bot.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from bench.harness import Ctx, cpu_share, new_call


async def add_calls(ctx: Ctx, first: int, count: int, talk: bool = True) -> dict[str, Any]:
    """Start ``count`` more bots (indexes from ``first``), each with a participant who
    listens and, with ``talk``, talks a continuous tone (so the bot's input path works)."""
    calls = [new_call(f"c{first + k}") for k in range(count)]
    joins = await ctx.B.call("start", call_ids=calls, first_index=first, timeout=600)
    people = [
        {
            "call_id": c,
            "user_id": f"user-{first + k}",
            "talk": "tone" if talk else "none",
            "freq": 440.0,
        }
        for k, c in enumerate(calls)
    ]
    await ctx.P.call("join", people=people, timeout=600)
    return {"bot_join_s": joins}


async def stream_window(ctx: Ctx, n: int, secs: float, series: bool = False) -> dict[str, Any]:
    """All ``n`` bots speak ``secs`` of tone; returns what the participants and bots saw."""
    bots = list(range(n))
    await asyncio.sleep(float(ctx.settings["settle_secs"]))
    frozen = await ctx.B.call("gc_freeze") if ctx.settings.get("gc_freeze") else None
    await ctx.B.call("watch", reset=True)
    before = ctx.cpu()
    t0 = await ctx.B.call(
        "speak", secs=secs, bots=bots, speed=4.0, max_ahead=float(ctx.settings["tts_ahead_secs"])
    )
    await asyncio.sleep(secs + 1.0)
    t1 = t0 + secs + 1.0
    after = ctx.cpu()
    pairs = [[f"user-{i}", f"bot-{i}"] for i in bots]
    heard = await ctx.P.call(
        "speech_all", pairs=pairs, since=t0, until=t1, series=series, timeout=600
    )
    watch = await ctx.B.call("watch", bots=bots)
    stats = await ctx.B.call("stats", since=t0, until=t1)
    peers = await ctx.P.call("stats", since=t0, until=t1)
    share = cpu_share(before, after)
    drifts = [h["drift_ms"] for h in heard]
    return {
        "calls": n,
        "secs": secs,
        "underruns": int(sum(h["breaks"] for h in heard)),
        "calls_with_underruns": int(sum(1 for h in heard if h["breaks"])),
        "calls_heard_nothing": int(sum(1 for h in heard if h.get("nothing_heard"))),
        "quiet_gaps": int(sum(h["gaps"] for h in heard)),
        "bot_side_underruns": int(sum(w["underruns"] for w in watch.values())),
        "bot_starved_frames": int(sum(w["starved_frames"] for w in watch.values())),
        "bot_frames_sent": int(sum(w["frames"] for w in watch.values())),
        "bot_speech_frames_sent": int(sum(w.get("loud_frames", 0) for w in watch.values())),
        "heard_audio_secs_min": min((h.get("audio_secs", 0.0) for h in heard), default=0.0),
        "heard_chunks_total": int(sum(h.get("chunks", 0) for h in heard)),
        "drift_max_ms": round(float(max(np.abs(drifts))), 1) if drifts else None,
        "speech_secs_min": min(h["speech_secs"] for h in heard) if heard else 0.0,
        "break_ms": sorted(g for h in heard for g in h["break_ms"])[-20:],
        "break_at": sorted(t for h in heard for t in h["break_at"])[:50],
        "gap_ms": sorted(g for h in heard for g in h["gap_ms"])[-20:],
        "gap_at": sorted(t for h in heard for t in h.get("gap_at", []))[:50],
        "bot_underrun_at": sorted(t for w in watch.values() for t in w["underrun_at"])[:50],
        "cpu_bot_pct": share["bot"],
        "cpu_per_call_pct": round(share["bot"] / n, 2),
        "cpu_peers_pct": share["peers"],
        "cpu_server_pct": share["server"],
        "cpu_machine_pct": share["load"],
        "cpu_foreign_pct": round(share["load"] - share["own"], 1),
        "bot_loop_waiting_for_cpu_pct": share["bot_loop_waiting"],
        "t0": t0,
        "loop_lag": stats["lag"],
        "stall_stacks": stats["stalls"],
        "gc_pauses": stats["gc_pauses"],
        "gc_frozen": frozen,
        "slow_callbacks": stats.get("slow_callbacks", [])[:40],
        "peers_lag_max_ms": peers["lag_max_ms"],
        "rss_mb": round(stats["rss_mb"], 1),
        "series": heard[0].get("series") if series and heard else None,
    }


async def run(ctx: Ctx) -> dict[str, Any]:
    n = int(ctx.settings["pacing_calls"])
    secs = float(ctx.settings["pacing_secs"])
    talk = bool(ctx.settings.get("pacing_participants_talk", False))
    joined = await add_calls(ctx, 0, n, talk)
    window = await stream_window(ctx, n, secs, series=True)
    window["participants_talk"] = talk
    return {
        "headline": {
            "pacing_calls": n,
            "pacing_underruns": window["underruns"],
            "pacing_bot_side_underruns": window["bot_side_underruns"],
            "pacing_calls_heard_nothing": window["calls_heard_nothing"],
            "pacing_drift_max_ms": window["drift_max_ms"],
            "pacing_loop_lag_max_ms": window["loop_lag"]["max_ms"],
        },
        "details": {**window, "bot_join_s": joined["bot_join_s"]},
    }
