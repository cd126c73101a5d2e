"""A pytest plugin with opt-in fixtures for testing an agent against a local GetStream call.

Installed with the package (entry point ``pytest11``), it only defines fixtures; nothing
runs unless a test asks for one:

* ``getstream_server``: a started :class:`~pipecat_getstream.testing.LocalStreamServer`,
  one per test session (every test should use its own call id: see ``getstream_call_id``).
* ``getstream_call_id``: a fresh call id per test.
* ``simulated_participant``: a factory of joined
  :class:`~pipecat_getstream.testing.SimulatedParticipant` users on ``getstream_server``,
  all left at the end of the test.

Example::

    async def test_bot_answers(getstream_server, getstream_call_id, simulated_participant):
        alice = await simulated_participant(getstream_call_id, "alice")
        await alice.say(tone(440, 1.0))

pytest loads this module in every run of a project that has the package installed, so it
imports only the standard library and pytest: the server (aiohttp, aiortc), the SDK and
the participants are imported by the fixtures that need them, when a test first asks.
``tests/unit/test_plugin_import.py`` checks this; ``bench/plugin_overhead.py`` measures
what the plugin adds to a pytest run.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pipecat_getstream.testing.server.local_server import LocalStreamServer


@contextmanager
def running_server() -> Iterator[LocalStreamServer]:
    """A started ``LocalStreamServer`` (own thread and loop), stopped on exit."""
    from pipecat_getstream.testing.server.local_server import LocalStreamServer

    server = LocalStreamServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def getstream_server() -> Iterator[LocalStreamServer]:
    """A ``LocalStreamServer`` on its own thread, started once for the test session."""
    with running_server() as server:
        yield server


@pytest.fixture
def getstream_call_id() -> str:
    """A call id no other test uses."""
    return f"test-{uuid.uuid4().hex[:12]}"


ParticipantFactory = Callable[..., Awaitable[Any]]


@pytest.fixture
def simulated_participant(getstream_server: LocalStreamServer) -> Iterator[ParticipantFactory]:
    """A factory of joined participants, each left when the test ends.

    Call it as ``await simulated_participant(call_id, user_id)``.

    Keyword options are those of :class:`~pipecat_getstream.testing.SimulatedParticipant`
    (``receive_video``, ``record``, ``call_type``). The fixture itself is synchronous (each
    participant runs its own thread and loop), so it fits any pytest-asyncio mode and loop
    scope.
    """
    from pipecat_getstream.testing.kit.participant import SimulatedParticipant

    made: list[SimulatedParticipant] = []

    async def make(call_id: str, user_id: str, **options: Any) -> SimulatedParticipant:
        participant = SimulatedParticipant(getstream_server, call_id, user_id, **options)
        made.append(participant)
        return await participant.join()

    try:
        yield make
    finally:
        for participant in reversed(made):
            participant.leave_blocking()
