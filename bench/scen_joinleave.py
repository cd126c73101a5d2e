"""Join and leave: start -> ``on_connected``, ``EndFrame`` -> gone, and leave's effect on others.

A witness bot joins alone (its join time is the single-call figure), then ``leave_calls``
more join together. The witness speaks continuously; the others speak for 1 s, then all
get ``EndFrame`` at once (with nothing left queued: ``EndFrame`` plays out queued audio
first). Reported: how long until all of them were gone, the event-loop lag while they left,
and whether the witness call's audio had underruns meanwhile. Last, the witness ends alone
(the single-call leave figure).
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.harness import Ctx
from bench.scen_pacing import add_calls


async def run(ctx: Ctx) -> dict[str, Any]:
    m = int(ctx.settings["leave_calls"])
    single = (await add_calls(ctx, 0, 1))["bot_join_s"][0]
    together = (await add_calls(ctx, 1, m))["bot_join_s"]
    ahead = float(ctx.settings["tts_ahead_secs"])
    await asyncio.sleep(float(ctx.settings["settle_secs"]))
    await ctx.B.call("watch", reset=True)
    # The witness speaks throughout; the others speak briefly, so that their queues are
    # empty when EndFrame comes (EndFrame plays out queued audio first, by Pipecat's design,
    # which would be measured instead of the transport's leave).
    await ctx.B.call("speak", secs=600.0, bots=[0], speed=4.0, max_ahead=ahead)
    await ctx.B.call("speak", secs=1.0, bots=list(range(1, m + 1)), speed=4.0, max_ahead=ahead)
    await asyncio.sleep(min(3.0, 1.5 + ahead / 4))
    await ctx.B.call("watch", bots=[0], reset=True)
    ended = await ctx.B.call("end", bots=list(range(1, m + 1)), timeout=300)
    t0, t1 = ended["t0"], ended["t0"] + ended["all_s"]
    await asyncio.sleep(1.0)
    stats = await ctx.B.call("stats", since=t0 - 0.5, until=t1 + 0.5)
    witness = (
        await ctx.P.call("speech_all", pairs=[["user-0", "bot-0"]], since=t0 - 0.5, until=t1 + 1.0)
    )[0]
    watch = (await ctx.B.call("watch", bots=[0]))["0"]
    await ctx.B.call("hush", bots=[0])
    await asyncio.sleep(ahead + 1.0)  # let the witness's queued speech play out
    alone = await ctx.B.call("end", bots=[0], timeout=120)
    each = [v for v in ended["each_s"] if isinstance(v, float)]
    return {
        "headline": {
            "join_one_s": round(single, 3),
            "join_together_max_s": round(max(together), 3),
            "leave_one_s": round(alone["all_s"], 3),
            "leave_together_s": round(ended["all_s"], 3),
            "leave_loop_lag_max_ms": stats["lag"]["max_ms"],
            "leave_witness_underruns": witness["breaks"] + watch["underruns"],
        },
        "details": {
            "leave_calls": m,
            "join_together_s": [round(v, 3) for v in together],
            "leave_each_s": [round(v, 3) for v in each],
            "leave_errors": [v for v in ended["each_s"] if not isinstance(v, float)],
            "leave_awaiting_samples": ended.get("awaiting"),
            "leave_one_awaiting_samples": alone.get("awaiting"),
            "loop_lag_during_leave": stats["lag"],
            "stall_stacks": stats["stalls"],
            "gc_pauses": stats["gc_pauses"],
            "witness_heard": witness,
            "witness_bot_side_underruns": watch["underruns"],
        },
    }
