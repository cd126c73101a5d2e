"""The event list: the transport registers it exactly, and the README and the spec agree."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, get_args

import pytest

from pipecat_getstream import GetstreamTransport
from pipecat_getstream.pipeline.events import (
    EVENTS,
    GROWN_EVENTS,
    SYNC_EVENTS,
    GetstreamCallbacks,
    TransportEvent,
    event_arguments,
)

README = Path(__file__).resolve().parents[2] / "README.md"

#: The spec's events and how many arguments each passes after the transport.
SPEC_EVENTS = {
    "on_connected": 0,
    "on_disconnected": 0,
    "on_before_disconnect": 0,
    "on_participant_connected": 1,
    "on_participant_disconnected": 1,
    "on_participant_left": 1,  # the transport adds ``reason``; one-argument handlers work
    "on_first_participant_joined": 1,
    "on_audio_track_subscribed": 1,
    "on_audio_track_unsubscribed": 1,
    "on_video_track_subscribed": 1,
    "on_video_track_unsubscribed": 1,
    "on_stream_custom_event": 1,
}


def transport() -> GetstreamTransport:
    return GetstreamTransport("key", "secret", "default", "call", "bot")


def test_the_literal_and_the_callbacks_model_list_the_same_events():
    assert list(EVENTS) == list(get_args(TransportEvent))
    assert list(GetstreamCallbacks.model_fields) == list(EVENTS)
    assert len(set(EVENTS)) == len(EVENTS)
    assert SYNC_EVENTS <= set(EVENTS) and GROWN_EVENTS <= set(EVENTS)


def test_the_transport_registers_exactly_the_listed_events():
    handlers = transport()._event_handlers
    assert set(handlers) == set(EVENTS)
    assert {name for name, handler in handlers.items() if handler.is_sync} == SYNC_EVENTS


def test_every_spec_event_keeps_its_name_and_arguments():
    for name, count in SPEC_EVENTS.items():
        assert name in EVENTS
        arguments = event_arguments(name)  # type: ignore[arg-type]
        # An event may have gained arguments if handlers of the spec's shape still work.
        grown = name in GROWN_EVENTS and count < len(arguments)
        assert len(arguments) == count or grown, name
    assert event_arguments("on_participant_left") == (str, str)
    assert event_arguments("on_connected") == ()


def readme_events() -> set[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Events", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `on_"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`(on_[a-z_]+)`", first_cell))
    return names


def test_the_readme_events_table_lists_every_event():
    assert readme_events() == set(EVENTS)


@pytest.mark.parametrize("short", [True, False])
async def test_events_reach_handlers_with_their_arguments(short: bool):
    bot = transport()
    seen: list[tuple[Any, ...]] = []
    called = asyncio.Event()

    if short:  # written before on_participant_left gained ``reason``

        @bot.event_handler("on_participant_left")
        async def on_left_short(_transport: Any, participant_id: str) -> None:
            seen.append((participant_id,))
            called.set()
    else:

        @bot.event_handler("on_participant_left")
        async def on_left(_transport: Any, participant_id: str, reason: str) -> None:
            seen.append((participant_id, reason))
            called.set()

    await bot._on_client_event("on_participant_left", "alice", "timeout")
    await asyncio.wait_for(called.wait(), 5)  # handlers run as tasks; a guard, not a timing
    assert seen == ([("alice",)] if short else [("alice", "timeout")])
