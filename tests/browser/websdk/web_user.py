"""A person in a call through GetStream's web SDK: a Chromium page driven through Playwright.

The page (``index.html`` + the bundle of ``page.js`` and ``@stream-io/video-client``) is
served by :class:`StaticSite` on its own origin (``http://localhost:<port>``), as a user's
web app would be; the SDK's ``baseURL`` points at the local server
(``http://127.0.0.1:<port>/api/v2/video``), another origin.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt


class StaticSite:
    """Serves a directory over HTTP on ``localhost`` from a background thread.

    Args:
        root: The directory to serve.

    """

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(root))
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="websdk-static", daemon=True
        )

    @property
    def origin(self) -> str:
        """``http://localhost:<port>`` (``localhost`` is a secure context for getUserMedia)."""
        return f"http://localhost:{self._httpd.server_address[1]}"

    def start(self) -> StaticSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def user_token(api_secret: str, user_id: str) -> str:
    """A user token, as a web app's backend would mint it."""
    return jwt.encode({"user_id": user_id, "iat": int(time.time()) - 5}, api_secret, "HS256")


class WebUser:
    """One browser page in a call.

    Args:
        page: A Playwright page (fake camera and microphone).
        server: The ``LocalStreamServer``.
        origin: Where the test page is served.
        user_id: The user the page connects as.

    """

    def __init__(self, page: Any, server: Any, origin: str, user_id: str) -> None:
        self.page = page
        self.server = server
        self.origin = origin
        self.user_id = user_id
        self.session_id: str | None = None
        self.joined = False

    async def open(self) -> WebUser:
        await self.page.goto(f"{self.origin}/index.html")
        await self.page.wait_for_function("() => window.app !== undefined")
        return self

    async def connect(self) -> str:
        """Connect the SDK's client to the server; returns the coordinator connection id."""
        return await self.page.evaluate(
            "(o) => window.app.connect(o)",
            {
                "apiKey": self.server.api_key,
                "token": user_token(self.server.api_secret, self.user_id),
                "userId": self.user_id,
                "baseURL": f"{self.server.base_url}/api/v2/video",
                "hintUrl": f"{self.server.base_url}/hint",
            },
        )

    async def join(self, call_id: str, *, mic: bool = True, camera: bool = False) -> None:
        self.session_id = await self.page.evaluate(
            "([id, o]) => window.app.join('default', id, o)",
            [call_id, {"mic": mic, "camera": camera}],
        )
        self.joined = True

    async def call(self, name: str, *args: Any) -> Any:
        """Call ``window.app.<name>(*args)`` in the page."""
        return await self.page.evaluate(f"(a) => window.app.{name}(...a)", list(args))

    async def leave(self) -> None:
        self.joined = False
        await self.call("leave")

    async def wait_for(self, what: str, predicate: Any, timeout: float = 20.0) -> Any:
        """Poll ``window.app.<what>()`` until ``predicate(value)``; fail with the page's logs."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = await self.call(what)
            if predicate(value):
                return value
            await asyncio.sleep(0.2)
        raise AssertionError(
            f"{self.user_id}: {what}() did not meet the condition in {timeout}s; "
            f"last: {value!r}\n{await self.diagnostics()}"
        )

    async def sdk_errors(self) -> list[str]:
        """Error-level messages of the SDK and uncaught page errors so far."""
        logs = await self.call("logs")
        return [entry["message"] for entry in logs if entry["level"] == "error"]

    async def diagnostics(self) -> str:
        """The page's SDK warnings/errors and console lines (for failure messages)."""
        try:
            logs = await self.call("logs")
        except Exception as exc:  # the page may be gone
            logs = [f"(no logs: {exc})"]
        console = getattr(self.page, "console_lines", [])[-40:]
        return "SDK logs:\n" + "\n".join(map(str, logs[-40:])) + "\nconsole:\n" + "\n".join(console)
