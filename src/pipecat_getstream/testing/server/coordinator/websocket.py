"""The coordinator WebSocket (``GET /api/v2/connect``, ``/api/v2/video/connect``).

Protocol: the client sends ``{"token", "products", "user_details": {"id"}}``
first; the server answers ``connection.ok`` with a ``connection_id`` (or
``connection.error`` and closes). ``health.check`` messages are answered in
kind: the Python SDKs send one object, the web SDK a JSON array of them
(``[{"type": "health.check", "client_id"}]``, every 25 s); the web SDK reconnects
when it hears nothing for 35 s. Calls are watched through the REST watch call
with ``?connection_id=``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web
from loguru import logger

from pipecat_getstream.testing.server.auth import CODE_AUTH_FAILED, CODE_INPUT, ApiError
from pipecat_getstream.testing.server.coordinator import payloads
from pipecat_getstream.testing.server.state import CoordinatorConnection, now_ns

if TYPE_CHECKING:
    from pipecat_getstream.testing.server.coordinator.routes import Coordinator

AUTH_TIMEOUT_S = 10.0


def _authenticate(
    coordinator: Coordinator, request: web.Request, raw: Any
) -> tuple[str, dict[str, Any]]:
    coordinator.auth.check_api_key(request.query.get("api_key"))
    try:
        message = json.loads(raw)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ApiError(400, CODE_INPUT, "the first message must be the JSON auth payload") from exc
    if not isinstance(message, dict) or not message.get("token"):
        raise ApiError(401, CODE_AUTH_FAILED, "the auth payload has no token")
    token = coordinator.auth.verify(str(message["token"]))
    details = message.get("user_details") if isinstance(message.get("user_details"), dict) else {}
    user_id = coordinator.auth.acting_user(token, (details or {}).get("id"))
    if not user_id:
        raise ApiError(401, CODE_AUTH_FAILED, "a user token is required to connect")
    return str(user_id), details or {}


def _is_health_check(message: Any) -> bool:
    """Whether a client message is a health check (an object, or an array holding one)."""
    items = message if isinstance(message, list) else [message]
    return any(isinstance(m, dict) and m.get("type") == "health.check" for m in items)


async def serve_connection(coordinator: Coordinator, request: web.Request) -> web.StreamResponse:
    """Serve one coordinator WebSocket until it closes."""
    state = coordinator.state
    ws = web.WebSocketResponse(heartbeat=None, timeout=2.0)
    await ws.prepare(request)
    conn: CoordinatorConnection | None = None
    try:
        first = await ws.receive(timeout=AUTH_TIMEOUT_S)
        if first.type != WSMsgType.TEXT:
            return ws
        try:
            user_id, details = _authenticate(coordinator, request, first.data)
        except ApiError as exc:
            logger.info("coordinator WS: auth refused: {}", exc.message)
            error = {
                "type": "connection.error",
                "error": exc.to_json(),
                "created_at": payloads.rfc3339(now_ns()),
            }
            await ws.send_str(json.dumps(error))
            await ws.close()
            return ws
        user = state.ensure_user(user_id, name=details.get("name"), image=details.get("image"))
        conn = CoordinatorConnection(
            connection_id=str(uuid.uuid4()), user_id=user_id, ws=ws, request=request
        )
        state.connections[conn.connection_id] = conn
        logger.debug("coordinator WS: {} connected ({})", user_id, conn.connection_id)
        ok = {
            "type": "connection.ok",
            "connection_id": conn.connection_id,
            "me": payloads.user_json(user, ws=True),
            "created_at": payloads.rfc3339(now_ns()),
        }
        await ws.send_str(json.dumps(ok))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            try:
                message = json.loads(msg.data)
            except json.JSONDecodeError:
                continue
            if _is_health_check(message):
                reply = {
                    "type": "health.check",
                    "connection_id": conn.connection_id,
                    "created_at": payloads.rfc3339(now_ns()),
                }
                await ws.send_str(json.dumps(reply))
    except (asyncio.TimeoutError, ConnectionError):
        pass
    finally:
        if conn is not None:
            state.connections.pop(conn.connection_id, None)
    return ws


def drop_connections(coordinator: Coordinator, user_id: str | None = None) -> int:
    """Abort coordinator sockets (all, or one user's) without a close frame.

    The connections leave the server's state at once, so a caller sees the drop
    before the client can reconnect.
    """
    dropped = 0
    for conn in list(coordinator.state.connections.values()):
        if user_id is not None and conn.user_id != user_id:
            continue
        transport = conn.request.transport if conn.request is not None else None
        if transport is not None:
            transport.abort()
            coordinator.state.connections.pop(conn.connection_id, None)
            dropped += 1
    return dropped
