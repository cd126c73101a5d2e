"""EventDispatcher: one handler at a time, in order, bounded; fit_arguments for old handlers."""

from __future__ import annotations

import asyncio

from pipecat_getstream.call.dispatch import EventDispatcher, fit_arguments


async def test_events_are_delivered_in_order_one_at_a_time():
    seen: list[tuple[str, tuple]] = []
    running = 0

    async def emit(name: str, *args: object) -> None:
        nonlocal running
        running += 1
        assert running == 1  # never two handlers at once
        await asyncio.sleep(0.001 if name == "slow" else 0)
        seen.append((name, args))
        running -= 1

    dispatcher = EventDispatcher(emit, "test")
    dispatcher.start()
    dispatcher.post("slow", (1,))
    dispatcher.post_all([("a", (2,)), ("b", ())])
    await dispatcher.stop()
    assert seen == [("slow", (1,)), ("a", (2,)), ("b", ())]


async def test_a_failing_handler_does_not_stop_later_events():
    seen: list[str] = []

    async def emit(name: str, *args: object) -> None:
        if name == "bad":
            raise RuntimeError("boom")
        seen.append(name)

    dispatcher = EventDispatcher(emit, "test")
    dispatcher.start()
    dispatcher.post_all([("bad", ()), ("good", ())])
    await dispatcher.stop()
    assert seen == ["good"]


async def test_beyond_the_bound_new_events_are_dropped_and_counted():
    release = asyncio.Event()
    seen: list[int] = []

    async def emit(name: str, n: int) -> None:
        await release.wait()
        seen.append(n)

    dispatcher = EventDispatcher(emit, "test", maxsize=3)
    dispatcher.start()
    dispatcher.post("e", (0,))
    await asyncio.sleep(0)  # the task takes event 0 and waits in its handler
    for n in range(1, 7):
        dispatcher.post("e", (n,))
    assert dispatcher.dropped == 3  # 1-3 queued, 4-6 dropped
    release.set()
    await dispatcher.stop(timeout=1.0)
    assert seen == [0, 1, 2, 3]  # what was queued is delivered; the dropped never are
    assert dispatcher.dropped == 3


async def test_posting_while_stopped_is_ignored_and_stop_is_idempotent():
    seen: list[str] = []

    async def emit(name: str, *args: object) -> None:
        seen.append(name)

    dispatcher = EventDispatcher(emit, "test")
    dispatcher.post("before", ())
    await dispatcher.stop()
    dispatcher.start()
    dispatcher.start()  # idempotent
    dispatcher.post("during", ())
    await dispatcher.stop()
    await dispatcher.stop()
    dispatcher.post("after", ())
    assert seen == ["during"]


async def test_fit_arguments_trims_for_handlers_written_for_fewer_arguments():
    calls: list[tuple] = []

    def two(transport, participant):
        calls.append((transport, participant))

    async def one(transport):
        calls.append((transport,))

    def star(*args):
        calls.append(args)

    fit_arguments(two, 3)("t", "p", "reason")
    await fit_arguments(one, 3)("t", "p", "reason")
    assert fit_arguments(star, 3) is star
    assert fit_arguments(two, 2) is two
    assert calls == [("t", "p"), ("t",)]
