"""Latency: participant -> ``UserAudioRawFrame`` and ``OutputAudioRawFrame`` -> participant.

One call holds the bot and two SDK participants. Alice talks 300 ms tone bursts; Bob and the
bot both hear each burst, so per burst the bot's input latency net of the server is simply
"bot saw it" minus "Bob heard it" (same sender, same server, same moment). The server's own
path (Alice's track emitting the burst -> Bob's SDK delivering it) is reported on its own.
For output, the bot queues 300 ms bursts; Alice's arrival minus the push, less the path from
the bot's track to Alice (measured on the same bursts), is the transport's share; the bot
process timestamps when each burst left the bot's SDK track, so this equals "push -> left
the track". The bot-side path of a bot that publishes 16 kHz on aiortc (the reference) is
about 20 ms longer than the participant-to-participant one, because aiortc's Opus encoder
holds each frame of a track that is not 48 kHz; the output net of the participant path is
reported too.

The input net compares the bot with Bob, an aiortc participant. A bot on SDK 7.x receives
through the Rust core, without aiortc's receive path, so its input net is negative: it hears
Alice before Bob does. ``input_e2e_ms`` (Alice's track emitting the burst -> the bot's
``UserAudioRawFrame``) compares every stack directly.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np

from bench.harness import Ctx, new_call, wait_for


def match(starts: list[float], events: list[float], within: float = 0.8) -> list[float | None]:
    """For each start, the first event in ``[start, start + within)``, or ``None``."""
    out: list[float | None] = []
    for s in starts:
        hits = [e for e in events if s <= e < s + within]
        out.append(min(hits) if hits else None)
    return out


def summarize(values_ms: list[float]) -> dict[str, Any]:
    """Median, max, min and count of a list of milliseconds."""
    if not values_ms:
        return {"median": None, "max": None, "min": None, "n": 0}
    arr = np.array(values_ms)
    return {
        "median": round(float(np.median(arr)), 1),
        "max": round(float(arr.max()), 1),
        "min": round(float(arr.min()), 1),
        "n": int(arr.size),
    }


def diffs(later: list[float | None], earlier: list[float | None]) -> list[float]:
    """``(later - earlier) * 1000`` wherever both exist."""
    return [
        (a - b) * 1000
        for a, b in zip(later, earlier, strict=True)
        if a is not None and b is not None
    ]


async def measure_path(ctx: Ctx, talker: str, listener: str, since: float) -> dict[str, Any]:
    """Server path per burst: the talker's track emitting it -> the listener's SDK delivering it."""
    sent = (await ctx.P.call("sent", user=talker))["onsets"]
    sent = [t for t in sent if t >= since]
    heard = await ctx.P.call("heard", user=listener, sender=talker, since=since)
    return {
        "sent": sent,
        "heard": match(sent, heard),
        "ms": summarize(diffs(match(sent, heard), sent)),
    }


async def hears(ctx: Ctx, listener: str, talker: str) -> bool:
    """Whether ``listener`` has heard at least one burst onset from ``talker`` yet."""
    return bool(await ctx.P.call("heard", user=listener, sender=talker))


async def never_heard(ctx: Ctx, listener: str, talker: str) -> RuntimeError:
    """The error for a listener that did not hear a talker, with what it did receive."""
    hearing = await ctx.P.call("hearing", user=listener)
    return RuntimeError(f"{listener} never heard {talker}; it received {hearing}")


async def join_talker_and_listener(
    ctx: Ctx, call: str, talker: str, listener: str, wait_secs: float = 20.0
) -> None:
    """Join a silent listener, then a talker of 440 Hz bursts; return once it hears them.

    The listener joins first: an aiortc-era SDK registers its event handlers only after
    its signaling socket has delivered the join response, and drops what arrives before
    (a participant joining in that instant would stay unknown to it). The bench measures
    paths, not join races.
    """
    await ctx.P.call("join", people=[{"call_id": call, "user_id": listener, "talk": "none"}])
    await ctx.P.call(
        "join", people=[{"call_id": call, "user_id": talker, "talk": "bursts", "freq": 440.0}]
    )
    if not await wait_for(lambda: hears(ctx, listener, talker), wait_secs):
        raise await never_heard(ctx, listener, talker)


async def run(ctx: Ctx) -> dict[str, Any]:
    reps = int(ctx.settings["latency_reps"])
    call = new_call("lat")
    await ctx.B.call("start", call_ids=[call])
    await join_talker_and_listener(ctx, call, "alice", "bob")

    async def bot_hears() -> bool:
        return (await ctx.B.call("probe"))["0"]["frames"] > 10

    if not await wait_for(bot_hears, 20):
        raise RuntimeError("the bot never heard alice")
    await asyncio.sleep(float(ctx.settings["settle_secs"]))
    # Input: Alice's bursts (one per second) reach Bob and the bot.
    t_in = time.monotonic()
    await asyncio.sleep(reps + 0.8)
    path = await measure_path(ctx, "alice", "bob", t_in)
    sent = path["sent"][:reps]
    bot_onsets = (await ctx.B.call("probe"))["0"]["onsets"]
    bot_seen = match(sent, bot_onsets)
    bob_heard = path["heard"][:reps]
    # Output: the bot queues a 300 ms burst once a second; Alice hears it.
    await ctx.B.call("watch", reset=True)
    pushes = []
    for _ in range(reps):
        pushes.append(await ctx.B.call("say", bot=0, secs=0.3))
        await asyncio.sleep(1.0)
    await asyncio.sleep(0.5)
    emitted = match(pushes, (await ctx.B.call("watch"))["0"]["onsets"])
    alice = match(pushes, await ctx.P.call("heard", user="alice", sender="bot-0", since=pushes[0]))
    out_path = summarize(diffs(alice, emitted))
    path_ms = path["ms"]["median"]
    out_e2e = diffs(alice, pushes)
    return {
        "headline": {
            "server_path_ms": path_ms,
            "input_net_ms": summarize(diffs(bot_seen, bob_heard))["median"],
            "input_e2e_ms": summarize(diffs(bot_seen, sent))["median"],
            "output_e2e_ms": summarize(out_e2e)["median"],
            "output_net_ms": summarize([v - out_path["median"] for v in out_e2e])["median"]
            if out_path["median"] is not None
            else None,
        },
        "details": {
            "server_path_ms": path["ms"],
            "server_path_bot_to_alice_ms": out_path,
            "input_e2e_ms": summarize(diffs(bot_seen, sent)),
            "input_net_ms": summarize(diffs(bot_seen, bob_heard)),
            "output_e2e_ms": summarize(out_e2e),
            "output_net_of_participant_path_ms": summarize([v - path_ms for v in out_e2e])
            if path_ms is not None
            else None,
            "output_to_track_ms": summarize(diffs(emitted, pushes)),
            "missed": {
                "bot_input": bot_seen.count(None),
                "bob": bob_heard.count(None),
                "alice": alice.count(None),
                "emitted": emitted.count(None),
            },
        },
    }
