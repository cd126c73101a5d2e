"""Custom call events: ``POST /api/v2/video/call/{type}/{id}/event``.

A participant or the server sends ``{"custom": {...}}`` (at most 5 KB of JSON); every
coordinator socket watching the call, the sender's own included, receives it as a
``custom`` event naming the sender (the web SDK shows its own events; the transport
filters out its own).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pipecat_getstream.testing.server.auth import CODE_INPUT, ApiError, TokenInfo
from pipecat_getstream.testing.server.coordinator import payloads

if TYPE_CHECKING:
    from pipecat_getstream.testing.server.coordinator.routes import Coordinator

CUSTOM_EVENT_LIMIT = 5 * 1024


class CustomEvents:
    """Serves the custom-event route.

    Args:
        coordinator: The coordinator whose watchers receive the events.

    """

    def __init__(self, coordinator: Coordinator) -> None:
        self.coordinator = coordinator

    def routes(self) -> list[web.RouteDef]:
        """The custom-event route."""
        call = "/api/v2/video/call/{type}/{id}"
        return [web.post(call + "/event", self.coordinator.rest(self.send_event))]

    async def send_event(
        self, request: web.Request, token: TokenInfo, body: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST .../event``: broadcast a custom event to the call's watchers (5 KB max)."""
        coordinator = self.coordinator
        call = coordinator.call_or_404(request, "SendCallEvent")
        user = body.get("user") if isinstance(body.get("user"), dict) else {}
        user_id = coordinator.auth.acting_user(token, body.get("user_id") or (user or {}).get("id"))
        if user_id is None:
            raise ApiError(
                400, CODE_INPUT, 'SendCallEvent failed with error: "user_id or user is required"'
            )
        custom = body.get("custom") or {}
        if not isinstance(custom, dict):
            raise ApiError(
                400, CODE_INPUT, 'SendCallEvent failed with error: "custom must be an object"'
            )
        size = len(json.dumps(custom, separators=(",", ":")).encode())
        if size > CUSTOM_EVENT_LIMIT:
            raise ApiError(
                400,
                CODE_INPUT,
                f'SendCallEvent failed with error: "custom event payload is too large: '
                f'{size} bytes, the limit is 5KB"',
            )
        state = coordinator.state
        event = payloads.custom_event_json(call, state.ensure_user(user_id), custom)
        state.custom_events.append((call.cid, custom))
        await coordinator.publish(call, event)
        return {}
