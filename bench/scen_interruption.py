"""Interruption: how soon the participant hears silence after ``InterruptionFrame``.

The bot queues a long utterance as one frame (Pipecat chunks it and the transport buffers
what it may). Once the participant has heard it for a second, the bot process pushes
``InterruptionFrame`` and notes the instant; the participant notes the arrival of the last
audio with speech in it. Net = that interval minus the server's own path from the bot's
track to the participant (measured on the onsets of the same utterances). The path between
two SDK participants is reported too; it is shorter, because aiortc's Opus encoder adds one
20 ms frame of resampler delay to a track that is not 48 kHz (the reference publishes 16 kHz;
this project's aiortc stack publishes 48 kHz). The bot process also notes when the last speech
left the bot's SDK track: that interval needs no subtraction.

Those two need a probe on the bot's aiortc track, which SDK 7.x does not have (its Rust core
owns the track). So a third figure works on every stack, from the two processes' clocks alone:
``net_of_say_path`` = interruption → last speech heard, minus the bot's own say → first speech
heard (Pipecat's pipeline, the transport, the SDK, the server and the listener, measured on the
same utterances). What remains is the audio still played after the interruption.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.harness import Ctx, new_call, wait_for
from bench.scen_latency import join_talker_and_listener, match, measure_path, summarize


async def run(ctx: Ctx) -> dict[str, Any]:
    reps = int(ctx.settings["interrupt_reps"])
    utterance = float(ctx.settings["utterance_secs"])
    call = new_call("int")
    await ctx.B.call("start", call_ids=[call])
    await join_talker_and_listener(ctx, call, "alice", "listener")
    await asyncio.sleep(float(ctx.settings["settle_secs"]))
    t_path = (await ctx.P.call("stats"))["t"]
    await asyncio.sleep(min(reps, 6) + 0.8)
    path = await measure_path(ctx, "alice", "listener", t_path)
    path_ms = path["ms"]["median"]
    await ctx.P.call("leave", users=["alice"])
    await asyncio.sleep(0.5)

    e2e, direct, heard_after, bot_path, say_path = [], [], [], [], []
    for _ in range(reps):
        t_say = await ctx.B.call("say", bot=0, secs=utterance)

        async def hearing(since: float = t_say) -> bool:
            last = await ctx.P.call(
                "heard", user="listener", sender="bot-0", since=since, what="last_loud"
            )
            return last is not None

        if not await wait_for(hearing, 10):
            raise RuntimeError("the participant never heard the bot's utterance")
        await asyncio.sleep(min(1.0, utterance / 3))
        t_int = await ctx.B.call("interrupt", bot=0)
        await asyncio.sleep(0.9)
        last = await ctx.P.call(
            "heard", user="listener", sender="bot-0", since=t_say, what="last_loud"
        )
        watch = (await ctx.B.call("watch"))["0"]
        onset = await ctx.P.call("heard", user="listener", sender="bot-0", since=t_say)
        first = match([t_say], onset, within=2.0)[0]
        if first is not None:
            say_path.append((first - t_say) * 1000)
        left = match([t_say], watch["onsets"], within=1.0)[0]
        arrived = match([left], onset, within=1.0)[0] if left is not None else None
        if left is not None and arrived is not None:
            bot_path.append((arrived - left) * 1000)
        e2e.append((last - t_int) * 1000)
        if watch["last_loud"] is not None:
            direct.append((watch["last_loud"] - t_int) * 1000)
        # Anything heard well after the interruption would mean the flush missed audio.
        late = await ctx.P.call(
            "heard", user="listener", sender="bot-0", since=t_int + 0.6, what="last_loud"
        )
        heard_after.append(late is not None)
        await asyncio.sleep(0.3)

    bot_path_ms = summarize(bot_path)["median"]
    net = [v - bot_path_ms for v in e2e] if bot_path_ms is not None else []
    net_pp = [v - path_ms for v in e2e] if path_ms is not None else []
    say_path_ms = summarize(say_path)["median"]
    net_say = [v - say_path_ms for v in e2e] if say_path_ms is not None else []
    return {
        "headline": {
            "interrupt_net_median_ms": summarize(net)["median"],
            "interrupt_net_max_ms": summarize(net)["max"],
            "interrupt_at_track_median_ms": summarize(direct)["median"],
            "interrupt_net_of_say_path_median_ms": summarize(net_say)["median"],
        },
        "details": {
            "server_path_ms": path["ms"],
            "server_path_bot_to_listener_ms": summarize(bot_path),
            "e2e_ms": summarize(e2e),
            "net_ms": summarize(net),
            "net_of_participant_path_ms": summarize(net_pp),
            "say_path_ms": summarize(say_path),
            "net_of_say_path_ms": summarize(net_say),
            "last_speech_left_track_ms": summarize(direct),
            "speech_after_600ms": sum(heard_after),
            "raw": {
                "e2e_ms": [round(v, 1) for v in e2e],
                "at_track_ms": [round(v, 1) for v in direct],
            },
        },
    }
