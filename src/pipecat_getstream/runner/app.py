"""The agent server's HTTP routes (FastAPI), mountable in a user's own app.

========================  =====================================================
``POST /sessions``        start a bot: ``{"call_type", "call_id", "body"}`` (token)
``GET /sessions``         live sessions (token)
``GET /sessions/{id}``    one session, live or recently ended (token)
``DELETE /sessions/{id}`` end a session and wait for it to end (token)
``POST /webhooks/getstream``  GetStream's signed webhooks
``GET /health``           the process is alive (liveness)
``GET /ready``            it takes sessions: warmed up, not draining, below capacity
``GET /metrics``          Prometheus metrics
========================  =====================================================

A refusal a load balancer should send elsewhere (at capacity, draining) is ``503`` with
``Retry-After``; a call that already has its bots is ``409``.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from loguru import logger

from pipecat_getstream.errors import GetstreamConfigError
from pipecat_getstream.runner.sessions import StartRefused
from pipecat_getstream.runner.webhooks import WebhookRejected, decode, start_request

if TYPE_CHECKING:
    from pipecat_getstream.runner.server import AgentServer


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def _refusal(server: AgentServer, refused: StartRefused) -> JSONResponse:
    if refused.retryable:
        return _error(503, str(refused), **{"Retry-After": str(server.config.retry_after_s)})
    return _error(409, str(refused))


def _authorized(server: AgentServer, request: Request) -> JSONResponse | None:
    """``None`` if the request carries the sessions API's token, else the error to answer."""
    token = server.config.auth_token
    if token is None:
        return _error(403, "the sessions API is disabled: set RUNNER_API_TOKEN to enable it")
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
        return _error(
            401, "missing or wrong bearer token", **{"WWW-Authenticate": 'Bearer realm="runner"'}
        )
    return None


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def create_router(server: AgentServer) -> APIRouter:
    """The server's routes, to include in any FastAPI app (``app.include_router``)."""
    router = APIRouter()
    manager = server.sessions

    @router.post("/sessions")
    async def start_session(request: Request) -> Response:
        requested = time.monotonic()
        denied = _authorized(server, request)
        if denied is not None:
            return denied
        try:
            data = await _json_object(request)
        except ValueError as exc:
            return _error(400, str(exc))
        call_type = data.get("call_type", "default")
        call_id = data.get("call_id")
        body = data.get("body", {})
        if not isinstance(call_id, str) or not call_id:
            return _error(400, "call_id is required (a non-empty string)")
        if not isinstance(call_type, str) or not call_type:
            return _error(400, "call_type must be a non-empty string")
        if not isinstance(body, dict):
            return _error(400, "body must be a JSON object")
        try:
            session = manager.start(call_type, call_id, body, source="api", requested=requested)
        except StartRefused as refused:
            return _refusal(server, refused)
        except (GetstreamConfigError, ValueError) as exc:
            return _error(400, str(exc))
        return JSONResponse(session.as_json(), status_code=201)

    @router.get("/sessions")
    async def list_sessions(request: Request) -> Response:
        denied = _authorized(server, request)
        if denied is not None:
            return denied
        return JSONResponse(
            {
                "sessions": [s.as_json() for s in manager.live],
                "capacity": server.config.max_sessions,
                "accepting": manager.accepting,
            }
        )

    @router.get("/sessions/{session_id}")
    async def get_session(session_id: str, request: Request) -> Response:
        denied = _authorized(server, request)
        if denied is not None:
            return denied
        session = manager.get(session_id)
        if session is None:
            return _error(404, f"no session {session_id!r}")
        return JSONResponse(session.as_json())

    @router.delete("/sessions/{session_id}")
    async def stop_session(session_id: str, request: Request) -> Response:
        denied = _authorized(server, request)
        if denied is not None:
            return denied
        session = await manager.stop(session_id, "stopped by request")
        if session is None:
            return _error(404, f"no session {session_id!r}")
        return JSONResponse(session.as_json())

    @router.post("/webhooks/getstream")
    async def webhook(request: Request) -> Response:
        requested = time.monotonic()
        raw = await request.body()
        try:
            event = decode(raw, request.headers.get("x-signature"), server.config.api_secret)
        except WebhookRejected as rejected:
            server.metrics.webhooks.labels("rejected").inc()
            logger.warning("webhook rejected: {}", rejected)
            return _error(rejected.status, str(rejected))
        key = server.deliveries.key(request.headers.get("x-webhook-id"), raw)
        if not server.deliveries.first_time(key):
            server.metrics.webhooks.labels("duplicate").inc()
            return JSONResponse({"status": "duplicate"})
        wanted = start_request(event, server.config)
        if wanted is None:
            server.metrics.webhooks.labels("ignored").inc()
            return JSONResponse({"status": "ignored", "type": event["type"]})
        try:
            session = manager.start(
                wanted.call_type,
                wanted.call_id,
                wanted.body,
                source=event["type"],
                requested=requested,
            )
        except StartRefused as refused:
            server.metrics.webhooks.labels(f"refused_{refused.reason}").inc()
            if refused.retryable:
                server.deliveries.forget(key)  # GetStream's retry may find capacity
                return _refusal(server, refused)
            return JSONResponse({"status": "ignored", "reason": str(refused)})
        except (GetstreamConfigError, ValueError) as exc:
            server.metrics.webhooks.labels("invalid").inc()
            return _error(400, str(exc))
        server.metrics.webhooks.labels("started").inc()
        return JSONResponse({"status": "started", "session_id": session.id})

    @router.get("/health")
    async def health() -> Response:
        return JSONResponse({"status": "ok"})

    @router.get("/ready")
    async def ready() -> Response:
        problem = server.not_ready_because()
        if problem is not None:
            return JSONResponse({"ready": False, "reason": problem}, status_code=503)
        return JSONResponse({"ready": True, "sessions": len(manager.live)})

    @router.get("/metrics")
    async def metrics() -> Response:
        data, content_type = server.metrics.exposition()
        return Response(data, media_type=content_type)

    return router


def create_app(server: AgentServer) -> FastAPI:
    """A FastAPI app serving :func:`create_router`'s routes, with the server's lifespan."""
    app = FastAPI(title="pipecat-getstream agent server", lifespan=server.lifespan)
    app.include_router(create_router(server))
    return app
