"""The join page: a person joins a local call from a browser (``/join/{type}/{id}``).

The page (``static/``: plain HTML, CSS and JavaScript, no build step, no GetStream code)
joins the call as an ordinary participant: the coordinator's own REST join and WebSocket
(JSON, as every SDK uses them) and the SFU through :mod:`.bridge` (JSON over one WebSocket,
protobuf behind it). Routes:

* ``GET /join/{call_type}/{call_id}``: the page.
* ``GET /join/static/{name}``: its scripts and style sheet.
* ``GET /join/api/token?user_id=...``: a user token for any user id the page picks, with the
  API key. This makes the server a development server only: anyone who reaches it can join
  any call as anyone, as with the rest of the local server.
* ``GET /join/api/sfu``: the page's signaling bridge.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from importlib import resources
from urllib.parse import quote

import jwt
from aiohttp import web

from pipecat_getstream.testing.server.join_page.bridge import serve_bridge

STATIC_FILES = {
    "call.js": "text/javascript",
    "join.js": "text/javascript",
    "join.css": "text/css",
}
USER_ID = re.compile(r"^[A-Za-z0-9@_.-]{1,64}$")
#: Lifetime of the tokens the page is given.
TOKEN_TTL_S = 24 * 3600


def join_url(base_url: str, call_type: str, call_id: str) -> str:
    """The join page's address for a call on the server at ``base_url``."""
    return f"{base_url}/join/{quote(call_type, safe='')}/{quote(call_id, safe='')}"


def _static(name: str) -> bytes:
    return (resources.files(__package__) / "static" / name).read_bytes()


def join_page_routes(
    api_key: str, api_secret: str, base_url: Callable[[], str]
) -> list[web.RouteDef]:
    """The join page's routes.

    Args:
        api_key: The server's API key (handed to the page).
        api_secret: The secret the page's user tokens are signed with.
        base_url: Returns the server's ``http://host:port`` once it listens.

    """

    async def page(request: web.Request) -> web.StreamResponse:
        return web.Response(body=_static("index.html"), content_type="text/html")

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return web.Response(body=_static(name), content_type=STATIC_FILES[name])

    async def token(request: web.Request) -> web.StreamResponse:
        user_id = request.query.get("user_id", "")
        if not USER_ID.match(user_id):
            return web.json_response(
                {"error": "user_id must be 1-64 letters, digits or @ _ . -"}, status=400
            )
        now = int(time.time())
        claims = {"user_id": user_id, "iat": now - 5, "exp": now + TOKEN_TTL_S}
        minted = jwt.encode(claims, api_secret, algorithm="HS256")
        return web.json_response({"api_key": api_key, "user_id": user_id, "token": minted})

    async def bridge(request: web.Request) -> web.StreamResponse:
        return await serve_bridge(request, base_url)

    return [
        web.get("/join/api/token", token),
        web.get("/join/api/sfu", bridge),
        web.get("/join/static/{name}", static),
        web.get("/join/{call_type}/{call_id}", page),
    ]
