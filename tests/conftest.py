"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipecat_getstream.testing import LocalStreamServer


@pytest.fixture
def local_server() -> Iterator[LocalStreamServer]:
    """A started LocalStreamServer (own thread and loop), stopped after the test."""
    server = LocalStreamServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
