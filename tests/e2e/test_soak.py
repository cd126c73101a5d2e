"""Many transports in one process: no lost events, no task growth, flat memory.

The transports run in the test process; LocalStreamServer and the talking participants run
in a second process (``peers_main.py``), so what is measured here is the transports alone.

The suite runs 4 calls for 1 minute. The benchmark mode of the reliability issue is
``SOAK_CALLS=16 SOAK_SECONDS=600 uv run pytest tests/e2e/test_soak.py -s``: on a 2-core
machine the peers process (the Python server relaying 2 tracks per call plus 16 simulated
participants encoding and decoding Opus) saturates one core at about 8 calls, so media
then stalls in the peers process, not in the transports (which use about 5 % of a core per
call). Run it on a larger machine, or with the peers on another host.
"""

import asyncio
import gc
import json
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from pipecat_getstream.testing.signals import SAMPLE_RATE, tone
from tests.e2e.bot import Bot, wait_until

CALLS = int(os.environ.get("SOAK_CALLS", "4"))
SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))

INFORMATIONAL = (
    "on_client_connected",
    "on_client_disconnected",
    "on_participant_updated",
    "on_active_speaker_changed",  # may name the bot itself
)
INFORMATIONAL_OR_LEFT = (*INFORMATIONAL[2:], "on_participant_left")

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(int(SECONDS) + 240)]


async def _resident_tasks() -> Counter[str]:
    """The long-lived tasks of this loop, counted by the name of their coroutine.

    Some tasks live for one audio frame (Pipecat's output wraps each write in ``wait_for``,
    which is a task before Python 3.12; SDK 6.x starts a task per received packet), so one
    reading can be off by several tasks under load. The count per name is the smallest of
    ten readings 20 ms apart: what lives through all of them.
    """
    readings = []
    for _ in range(10):
        readings.append(
            Counter(getattr(t.get_coro(), "__qualname__", "?") for t in asyncio.all_tasks())
        )
        await asyncio.sleep(0.02)
    return Counter({name: min(r[name] for r in readings) for name in set().union(*readings)})


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def _cpu_seconds(peers: "Peers") -> tuple[float, float]:
    """CPU seconds used so far by this process (the bots) and by the peers process."""
    bots, others = psutil.Process().cpu_times(), psutil.Process(peers.proc.pid).cpu_times()
    return bots.user + bots.system, others.user + others.system


class Peers:
    """The server and the talking participants, in their own process."""

    async def __aenter__(self) -> "Peers":
        root = Path(__file__).resolve().parents[2]
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.e2e.peers_main",
            cwd=root,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=open(os.environ.get("SOAK_PEERS_LOG", os.devnull), "w"),
        )
        info = await self.reply()
        self.server = SimpleNamespace(**info)
        return self

    async def reply(self) -> dict:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 120)
        return json.loads(line)

    async def send(self, command: str) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()
        return await self.reply()

    async def __aexit__(self, *exc) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except asyncio.TimeoutError:
            self.proc.kill()


async def _talk(bot: Bot, hz: float) -> None:
    """The bot says a steady tone, queued about 0.25 s ahead of real time, until cancelled."""
    chunk = tone(hz, 0.5)
    start, queued = time.monotonic(), 0.0
    while True:
        await bot.say(chunk, rate=SAMPLE_RATE)
        queued += 0.5
        await asyncio.sleep(max(0.0, start + queued - 0.25 - time.monotonic()))


async def test_soak_many_calls_in_one_process():
    async with Peers() as peers:
        tag = uuid.uuid4().hex[:6]
        # The participants run in another process on the same two cores; the forwarding
        # server passes on a burst after one of their stalls as it is, so the bots buffer up
        # to 10 s of input (the default is 2 s): what is asserted is that the transport
        # itself never falls behind and drops audio.
        bots = [
            Bot(peers.server, f"soak-{tag}-{i}", keep_audio=False, audio_in_queue_frames=500)
            for i in range(CALLS)
        ]
        try:
            await _soak(peers, tag, bots)
        finally:
            # Every pipeline is ended explicitly, each within a time limit: a pipeline left
            # running would make the loop's shutdown hang after a failure.
            problems = await asyncio.gather(*(bot.end(timeout=30) for bot in bots))
            assert not [p for p in problems if p], problems


async def _soak(peers: Peers, tag: str, bots: list[Bot]) -> None:
    await asyncio.gather(*(bot.start(timeout=60) for bot in bots))
    await peers.send(f"join soak-{tag} {CALLS}")
    # Two-way: every bot talks back (a tone of its own) for the whole call.
    talkers = [asyncio.create_task(_talk(bot, 500 + 10 * i)) for i, bot in enumerate(bots)]
    try:
        await wait_until(
            lambda: all(b.probe.audio_bytes[f"user{i}"] > 16000 for i, b in enumerate(bots)),
            timeout=60,
        )
        heard_before = (await peers.send("heard"))["heard"]
        gc.collect()
        warm_census, warm_rss = await _resident_tasks(), rss_mb()
        warm_tasks = sum(warm_census.values())
        warm_cpu = _cpu_seconds(peers)
        samples = []
        heard_at_samples = []
        started = time.monotonic()
        while time.monotonic() - started < SECONDS:
            await asyncio.sleep(min(5.0, SECONDS / 6))
            samples.append((time.monotonic() - started, rss_mb(), len(asyncio.all_tasks())))
            heard_at_samples.append([b.probe.audio_bytes[f"user{i}"] for i, b in enumerate(bots)])
        gc.collect()
        end_census, end_rss = await _resident_tasks(), rss_mb()
        end_tasks = sum(end_census.values())
        window = time.monotonic() - started
        bots_cpu, peers_cpu = (
            100 * (end - warm) / window
            for warm, end in zip(warm_cpu, _cpu_seconds(peers), strict=True)
        )
        audio = [b.probe.audio_bytes[f"user{i}"] / 32000 for i, b in enumerate(bots)]
        heard_after = (await peers.send("heard"))["heard"]
    finally:
        for talker in talkers:
            talker.cancel()
        await asyncio.gather(*talkers, return_exceptions=True)
        left = await peers.send("leave")
    # What each participant heard of its bot during the measured window, in seconds.
    bot_heard = [heard_after[f"user{i}"] - heard_before[f"user{i}"] for i in range(len(bots))]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(b.fired("on_participant_left") for b in bots):
        await asyncio.sleep(0.1)
    missing = [
        f"call {b.transport.call_cid}: user{i} left with {b.fired('on_participant_left')}"
        for i, b in enumerate(bots)
        if b.fired("on_participant_left") != [(f"user{i}", "left")]
    ]
    assert not missing, (
        f"{len(missing)} of {CALLS} bots did not see their participant leave with reason "
        f"'left' within 30 s: {missing}; the participants' own report: {left}"
    )
    leave_started = time.monotonic()
    await asyncio.gather(*(bot.stop(timeout=60) for bot in bots))
    leave_secs = time.monotonic() - leave_started
    print(
        f"\nsoak: {CALLS} calls, {SECONDS:.0f}s, rss {warm_rss:.0f}->{end_rss:.0f} MB, "
        f"tasks {warm_tasks}->{end_tasks}, all left in {leave_secs:.1f}s, "
        f"CPU (% of one core): bots {bots_cpu:.0f}, server + participants {peers_cpu:.0f}, "
        f"samples (s, MB, tasks) {samples}"
    )
    for i, bot in enumerate(bots):
        kept = [n for n, _ in bot.events if n not in INFORMATIONAL]
        print(
            f"  call {i}: {len(kept)} events kept, bot heard user {audio[i]:.1f} s, "
            f"user heard bot {bot_heard[i]:.1f} s of {SECONDS:.0f} s, "
            f"input frames dropped {bot.transport.input().dropped_audio_frames}"
        )

    for i, bot in enumerate(bots):
        user = f"user{i}"
        # Every event exactly once, in order, for the right participant: nothing lost.
        # (Pipecat's client aliases and the informational events may interleave anywhere.)
        assert [n for n, _ in bot.events if n not in INFORMATIONAL] == [
            "on_connected",
            "on_participant_connected",
            "on_first_participant_joined",
            "on_audio_track_subscribed",
            "on_audio_track_unsubscribed",
            "on_participant_disconnected",
            "on_participant_left",
            "on_before_disconnect",
            "on_disconnected",
        ], (i, bot.events)
        assert bot.fired("on_participant_left") == [(user, "left")]
        assert all(
            args in ((), (user,)) for n, args in bot.events if n not in INFORMATIONAL_OR_LEFT
        )
        assert bot.transport.input().dropped_audio_frames == 0
    # Audio kept flowing in every call, to the end (a liveness check, not a timing one: a
    # loaded machine may deliver less, but nothing may stop).
    assert all(
        later > earlier
        for earlier, later in zip(heard_at_samples[-2], heard_at_samples[-1], strict=True)
    )
    assert min(audio) > SECONDS * 0.3
    assert min(bot_heard) > SECONDS * 0.3, bot_heard
    assert end_tasks <= warm_tasks + 2, (
        f"long-lived tasks that appeared: {end_census - warm_census}, "
        f"ended: {warm_census - end_census}"
    )
    assert end_rss - warm_rss < max(15.0, 0.02 * warm_rss)
