"""SIGTERM drains a real agent server process: live sessions finish or are ended, exit 0."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pipecat_getstream.testing.signals import wait_until
from tests.runner.conftest import BOT, TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]


async def test_sigterm_drains_live_sessions_and_exits_0(
    local_server, participants, call_id, tmp_path
):
    log = tmp_path / "runner.log"
    env = dict(os.environ)
    env.update(
        STREAM_API_KEY=local_server.api_key,
        STREAM_API_SECRET=local_server.api_secret,
        GETSTREAM_BASE_URL=local_server.base_url,
        RUNNER_API_TOKEN=TOKEN,
    )
    command = [sys.executable, "-m", "pipecat_getstream.runner", "tests.runner.bots:bot"]
    command += ["--port", "0", "--drain-timeout", "3", "--stop-grace", "3"]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        url = await _listening_url(log, process)
        alice = await participants(call_id, "alice")
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as client:
            assert (await client.get("/ready")).status_code == 200
            playing = await client.post("/sessions", json={"call_id": call_id})
            assert playing.status_code == 201
            await alice.wait_for_sound(BOT, since=alice.joined_at, timeout=40)
            # A session that ends by itself during the drain.
            finishing = await client.post(
                "/sessions",
                json={"call_id": call_id + "-b", "body": {"mode": "finish", "seconds": 1.0}},
            )
            assert finishing.status_code == 201
            finishing_id = finishing.json()["session_id"]

            async def finishing_joined() -> bool:
                answer = await client.get(f"/sessions/{finishing_id}")
                return answer.json()["join_s"] is not None

            deadline = time.monotonic() + 20
            while not await finishing_joined():
                assert time.monotonic() < deadline, "the finishing bot did not join"
                await asyncio.sleep(0.05)

            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert await wait_until(
                lambda: "draining" in log.read_text() or process.poll() is not None, 10
            )
            ready = await client.get("/ready")
            assert ready.status_code == 503 and ready.json()["reason"] == "draining"
            refused = await client.post("/sessions", json={"call_id": call_id + "-c"})
            assert refused.status_code == 503 and "Retry-After" in refused.headers
            code = await asyncio.to_thread(process.wait, 60)  # raises if it never exits
        drain_s = time.monotonic() - sent
        text = log.read_text()
        assert code == 0, text[-3000:]
        found = re.search(r"drained in ([\d.]+) s \((\d+) finished, (\d+) ended\)", text)
        assert found, text[-3000:]
        assert (found.group(2), found.group(3)) == ("1", "1")
        assert await wait_until(lambda: BOT in alice.left, timeout=10)
        assert local_server.participants("default", call_id) == ["alice"]
        print(f"\ndrain: SIGTERM to exit {drain_s:.2f} s, server drain {found.group(1)} s")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


async def _listening_url(log: Path, process: subprocess.Popen) -> str:
    # Importing Pipecat 0.0.108 alone takes ~30 s on a loaded machine (it tries to download
    # NLTK data, which fails offline).
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        found = re.search(r"agent server listening on (http://\S+)", log.read_text())
        if found:
            return found.group(1)
        assert process.poll() is None, log.read_text()[-3000:]
        await asyncio.sleep(0.05)
    raise AssertionError("the agent server did not start: " + log.read_text()[-3000:])
