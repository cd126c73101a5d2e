"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pipecat_getstream.testing import LocalStreamServer


@contextmanager
def running_server() -> Iterator[LocalStreamServer]:
    """A started LocalStreamServer (own thread and loop), stopped on exit."""
    server = LocalStreamServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def local_server() -> Iterator[LocalStreamServer]:
    """A fresh server per test (the server's own tests count joins and sessions)."""
    with running_server() as server:
        yield server
