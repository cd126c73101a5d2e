"""Agent server latencies on the local server: start request or webhook -> bot in the call.

Runs a ``LocalStreamServer`` and an ``AgentServer`` in this process (the bot plays a tone:
``tests/runner/bots.py``) and measures, each several times:

* webhook -> bot joined: a participant joins a new call, the local server sends the signed
  ``call.session_started`` webhook, the agent server starts the bot; the time is from the
  webhook's arrival to the bot's ``on_connected``;
* ``POST /sessions`` -> bot joined, for 1 and for N simultaneous starts (each in its own call);
* ``POST /sessions`` -> the bot's first audio heard by a participant already in the call.

Prints p50 and p95 of each in milliseconds. Run it with
``uv run python -m bench.runner_latency [--runs 5] [--burst 16]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid

import httpx
from loguru import logger
from tests.runner.bots import bot

from pipecat_getstream.runner import AgentServer, RunnerConfig
from pipecat_getstream.testing import LocalStreamServer, SimulatedParticipant

TOKEN = "bench-token-" + "x" * 20


def percentiles(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"p50 {statistics.median(ms):7.1f} ms  p95 {p95:7.1f} ms  (n={len(ms)})"


async def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.01)


async def main(runs: int, burst: int) -> None:
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    with LocalStreamServer() as local:
        config = RunnerConfig(
            api_key=local.api_key,
            api_secret=local.api_secret,
            base_url=local.base_url,
            port=0,
            auth_token=TOKEN,
            max_sessions=max(burst, 4),
            stop_grace_s=1.0,
            webhook_events=("call.session_started",),
        )
        server = AgentServer(bot, config)
        serving = asyncio.create_task(server.serve(handle_signals=False))
        await wait_for(lambda: server.url is not None)
        local.webhook_url = f"{server.url}/webhooks/getstream"
        client = httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        )
        try:
            webhook: list[float] = []
            for _ in range(runs):
                call = f"bench-{uuid.uuid4().hex[:8]}"
                async with SimulatedParticipant(local, call, "alice"):
                    await wait_for(lambda: any(s.join_s for s in server.sessions.live))
                    [session] = server.sessions.live
                    webhook.append(session.join_s or 0.0)
                    await server.sessions.stop(session.id)
            print(f"webhook -> bot joined          {percentiles(webhook)}")
            local.webhook_url = None

            for size in (1, burst):
                joins: list[float] = []
                for _ in range(max(1, runs // 2) if size > 1 else runs):
                    calls = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(size)]
                    answers = await asyncio.gather(
                        *(client.post("/sessions", json={"call_id": c}) for c in calls)
                    )
                    ids = [a.json()["session_id"] for a in answers]
                    sessions = [server.sessions.get(i) for i in ids]

                    def all_joined(batch=sessions) -> bool:
                        return all(s.join_s for s in batch)

                    await wait_for(all_joined, 60)
                    joins.extend(s.join_s or 0.0 for s in sessions)
                    await asyncio.gather(*(server.sessions.stop(i) for i in ids))
                print(f"start x{size:<3} -> bot joined      {percentiles(joins)}")

            heard: list[float] = []
            for _ in range(runs):
                call = f"bench-{uuid.uuid4().hex[:8]}"
                async with SimulatedParticipant(local, call, "alice") as alice:
                    sent = time.monotonic()
                    answer = await client.post("/sessions", json={"call_id": call})
                    first = await alice.wait_for_sound("pipecat-bot", since=sent, timeout=20)
                    heard.append(first - sent)
                    await server.sessions.stop(answer.json()["session_id"])
            print(f"start -> first bot audio heard {percentiles(heard)}")
        finally:
            await client.aclose()
            server.shutdown()
            await serving


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--burst", type=int, default=16)
    options = parser.parse_args()
    asyncio.run(main(options.runs, options.burst))
