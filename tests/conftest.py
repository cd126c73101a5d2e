"""Shared fixtures (the package's pytest plugin adds ``getstream_server`` and friends)."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from pipecat_getstream.testing import LocalStreamServer
from pipecat_getstream.testing.pytest_plugin import running_server

__all__ = ["running_server"]

_EXIT_STATUS = pytest.StashKey[int]()


@pytest.fixture
def local_server() -> Iterator[LocalStreamServer]:
    """A fresh server per test (the server's own tests count joins and sessions)."""
    with running_server() as server:
        yield server


_EXIT_GRACE_SECS = 15.0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Never hang at exit on threads a failed test left running.

    aiortc's decoder threads are not daemon threads: a participant whose test failed before
    it left keeps the interpreter alive for ever after the summary is printed, and CI would
    wait out its whole time limit. Give them a grace period, then name them and exit with
    the session's status.
    """
    deadline = time.monotonic() + _EXIT_GRACE_SECS
    while time.monotonic() < deadline and _lingering():
        time.sleep(0.2)
    left = _lingering()
    if left:
        print(f"\n[conftest] exiting past {len(left)} lingering threads: {sorted(left)}")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(config.stash.get(_EXIT_STATUS, 1))


def _lingering() -> list[str]:
    main = threading.main_thread()
    return [t.name for t in threading.enumerate() if t is not main and not t.daemon]
