"""SimulatedParticipant.leave() finishes, whatever else the caller's process is doing."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipecat_getstream.testing import SimulatedParticipant
from pipecat_getstream.testing.signals import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def test_leave_does_not_wait_for_the_loops_default_executor(
    getstream_server, getstream_call_id
):
    # The soak's peers process reads its commands with run_in_executor, and its default
    # executor has 6 workers on a 2-core machine: leaves that went through that executor
    # queued behind each other, and under load most never reached the server in time.
    # Here the caller's default executor is one worker, held busy for the whole test.
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
    release = threading.Event()
    busy = loop.run_in_executor(None, release.wait)
    try:
        people = [
            SimulatedParticipant(getstream_server, getstream_call_id, f"user{i}") for i in range(3)
        ]
        await asyncio.gather(*(p.join() for p in people))
        await wait_until(
            lambda: len(getstream_server.participants("default", getstream_call_id)) == 3, 20
        )
        problems = await asyncio.wait_for(asyncio.gather(*(p.leave() for p in people)), timeout=60)
        assert problems == [[], [], []]
        await wait_until(
            lambda: getstream_server.participants("default", getstream_call_id) == [], 20
        )
        assert await people[0].leave() == []  # a second leave does nothing
    finally:
        release.set()
        await busy
