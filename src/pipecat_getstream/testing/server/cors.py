"""Cross-origin access for browser clients, as GetStream's cloud grants it.

A Stream web app is served from its own origin and calls the coordinator (``/api/v2/...``),
the SFU's Twirp API (``/twirp/...``) and the location hint (``/hint``) with ``fetch``/XHR.
The web SDK (``@stream-io/video-client``) sends ``Authorization``, ``stream-auth-type``,
``X-Stream-Client``, ``x-client-request-id`` and a JSON ``Content-Type``: every such call
is preceded by a preflight. The cloud's API is used from any web origin with an API key and
a user token (no cookies: the SDK sets ``withCredentials: false``), so any origin is
allowed and the requested headers are granted. ``x-amz-cf-pop`` is exposed: the SDK reads
it from the hint response.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
EXPOSED_HEADERS = "x-amz-cf-pop, x-client-request-id"
PREFLIGHT_MAX_AGE_S = 86400


@web.middleware
async def preflight_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer CORS preflights (``OPTIONS`` with ``Access-Control-Request-Method``) on any path."""
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        requested = request.headers.get("Access-Control-Request-Headers")
        if requested:
            response.headers["Access-Control-Allow-Headers"] = requested
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_S)
        return response
    return await handler(request)


async def add_cors_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """``on_response_prepare``: grant the request's origin on every response (errors too)."""
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        response.headers["Vary"] = "Origin"


def enable_cors(app: web.Application) -> None:
    """Install the preflight middleware and the response headers on ``app``."""
    app.middlewares.append(preflight_middleware)
    app.on_response_prepare.append(add_cors_headers)
