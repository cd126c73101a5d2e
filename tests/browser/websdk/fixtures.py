"""Fixtures of the web SDK tests: the built test page, its site, the server, browser users.

Import them into a test module (``from tests.browser.websdk.fixtures import *``-style,
by name). When node/npm (or the registry) are missing, the page cannot be built: the tests
fail with that reason when ``CI=true`` (CI runs them, never skips) and skip elsewhere.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from tests.browser.websdk.bundle import WebSdkUnavailable, ensure_page
from tests.browser.websdk.web_user import StaticSite, WebUser
from tests.conftest import running_server

from pipecat_getstream.testing import LocalStreamServer

WebUserFactory = Callable[..., Awaitable[WebUser]]


@pytest.fixture(scope="session")
def websdk_site() -> Iterator[StaticSite]:
    """The test page (built once, cached outside the repo) served on its own origin."""
    try:
        page_dir = ensure_page()
    except WebSdkUnavailable as exc:
        message = f"cannot build the web SDK test page: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI runs the browser tests and never skips them", False)
        pytest.skip(message)
    site = StaticSite(page_dir).start()
    try:
        yield site
    finally:
        site.stop()


@pytest.fixture(scope="session")
def web_server() -> Iterator[LocalStreamServer]:
    """One server for the browser tests; every test uses its own call id."""
    with running_server() as server:
        yield server


@pytest_asyncio.fixture
async def web_user(
    browser_page: Any, websdk_site: StaticSite, web_server: LocalStreamServer
) -> AsyncIterator[WebUserFactory]:
    """A factory ``await web_user(user_id, wav_freq=440.0)`` of connected browser users."""
    users: list[WebUser] = []

    async def make(user_id: str, wav_freq: float = 440.0) -> WebUser:
        page = await browser_page(wav_freq=wav_freq)
        user = await WebUser(page, web_server, websdk_site.origin, user_id).open()
        users.append(user)
        await user.connect()
        return user

    try:
        yield make
    finally:
        for user in users:
            if user.joined:
                try:
                    await asyncio.wait_for(user.leave(), 10)
                except Exception:  # the test's own failure matters more
                    pass
