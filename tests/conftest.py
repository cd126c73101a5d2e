"""Shared fixtures (the package's pytest plugin adds ``getstream_server`` and friends)."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pipecat_getstream.testing import LocalStreamServer
from pipecat_getstream.testing.pytest_plugin import running_server

__all__ = ["running_server"]

_EXIT_STATUS = pytest.StashKey[int]()

#: One more run for an end-to-end test that failed. These tests drive real SDK participants
#: (threads, sockets, peer processes) on a 2-core machine, and each SDK generation has rare
#: races of its own; a failure that repeats is a failure. Reruns are listed in the summary
#: (``R``), with the first attempt's error. Unit tests are never rerun.
E2E_RERUNS = 1


#: ``(test id, error)`` of each attempt that failed and was rerun.
_FIRST_ATTEMPTS: list[tuple[str, str]] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("e2e") and not item.get_closest_marker("flaky"):
            item.add_marker(pytest.mark.flaky(reruns=E2E_RERUNS, reruns_delay=1))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep the error of every attempt that was rerun (the summary shows them at the end)."""
    if report.outcome == "rerun":
        _FIRST_ATTEMPTS.append((report.nodeid, report.longreprtext[-4000:]))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for nodeid, error in _FIRST_ATTEMPTS:
        terminalreporter.section(f"failed attempt, rerun: {nodeid}", sep="-")
        terminalreporter.write_line(error)


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
