"""Coordinator routes the client-side SDKs call: query calls, client events, location hint.

Inferred from ``@stream-io/video-client`` (1.60):

* ``POST /api/v2/video/calls`` (``QueryCallsRequest``): the SDK's ``queryCalls``, and its
  re-watch after a coordinator socket reconnects (``watch: true``,
  ``filter_conditions: {"cid": {"$in": [...]}}``, the new socket's ``?connection_id=``).
  The answer is ``QueryCallsResponse`` (``calls`` of ``CallStateResponseFields``). Without
  it, a browser's socket that reconnects stops receiving the calls' events.
* ``POST /api/v2/video/call_client_event`` (``ReportClientEventRequest``, 1-100 events):
  the SDK's ``ClientEventReporter`` telemetry of join/reconnect stages, sent as a *public*
  endpoint (a token when the client has a user, ``stream-auth-type: anonymous`` before).
  The cloud stores it for its dashboards; this server keeps the latest events in
  ``ServerState.client_events``.
* ``HEAD /hint``: the SDK asks a CloudFront location for its ``x-amz-cf-pop`` header
  (``AMS1-P2`` means Amsterdam) and sends the first three letters as the join's
  ``location``. A web app points ``locationHintUrl`` here; the answer names ``LCL``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pipecat_getstream.testing.server.auth import CODE_INPUT, ApiError, TokenInfo
from pipecat_getstream.testing.server.coordinator import payloads
from pipecat_getstream.testing.server.state import CallRecord, now_ns

if TYPE_CHECKING:
    from pipecat_getstream.testing.server.coordinator.routes import Coordinator

#: The ``x-amz-cf-pop`` the hint answers with (the SDK keeps the first three letters).
LOCAL_POP = "LCL1-P1"
QUERY_LIMIT_DEFAULT = 25
QUERY_LIMIT_MAX = 100
CLIENT_EVENTS_MAX = 100
#: Call fields ``filter_conditions`` may name, and how to read them from a call.
_FILTER_FIELDS = {
    "cid": lambda call: call.cid,
    "id": lambda call: call.call_id,
    "type": lambda call: call.call_type,
    "created_by_user_id": lambda call: call.created_by,
    "ongoing": lambda call: any(not s.gone for s in call.sessions.values()),
}


def _matches(call: CallRecord, conditions: dict[str, Any]) -> bool:
    """Whether a call meets every condition (``value``, ``{"$eq": v}`` or ``{"$in": [...]}``)."""
    for name, condition in conditions.items():
        read = _FILTER_FIELDS.get(name)
        if read is None:
            raise ApiError(
                400,
                CODE_INPUT,
                f'QueryCalls failed with error: "field `{name}` is not supported '
                f"by the local server's filter (supported: {', '.join(_FILTER_FIELDS)})\"",
            )
        value = read(call)
        if isinstance(condition, dict):
            for operator, operand in condition.items():
                if operator == "$eq" and value != operand:
                    return False
                if operator == "$in" and value not in (operand or []):
                    return False
                if operator not in ("$eq", "$in"):
                    raise ApiError(
                        400,
                        CODE_INPUT,
                        f'QueryCalls failed with error: "operator {operator} is not supported '
                        'by the local server (supported: $eq, $in)"',
                    )
        elif value != condition:
            return False
    return True


class ClientApi:
    """The routes of :mod:`this module <.client_api>`.

    Args:
        coordinator: The coordinator (state, auth, watches, call bodies).

    """

    def __init__(self, coordinator: Coordinator) -> None:
        self.coordinator = coordinator

    def routes(self) -> list[web.RouteDef]:
        """The query-calls, client-event and hint routes."""
        return [
            web.post("/api/v2/video/calls", self.coordinator.rest(self.query_calls)),
            web.post("/api/v2/video/call_client_event", self.client_event),
            web.get("/hint", self.hint),  # HEAD as well
        ]

    async def query_calls(
        self, request: web.Request, token: TokenInfo, body: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST /api/v2/video/calls``: the calls matching ``filter_conditions``, newest first.

        With ``watch: true`` the request's ``?connection_id=`` socket watches each call
        returned.
        """
        conditions = body.get("filter_conditions") or {}
        if not isinstance(conditions, dict):
            raise ApiError(
                400, CODE_INPUT, 'QueryCalls failed with error: "filter_conditions is invalid"'
            )
        limit = body.get("limit") or QUERY_LIMIT_DEFAULT
        if not isinstance(limit, int) or not 0 < limit <= QUERY_LIMIT_MAX:
            raise ApiError(
                400,
                CODE_INPUT,
                f'QueryCalls failed with error: "limit must be 1 to {QUERY_LIMIT_MAX}"',
            )
        state = self.coordinator.state
        found = [c for c in state.calls.values() if _matches(c, conditions)]
        found.sort(key=lambda c: c.created_at, reverse=True)
        found = found[:limit]
        if body.get("watch"):
            for call in found:
                self.coordinator.watch(request, token, call, required=True)
        ns = payloads.wants_ns(request)
        return {"calls": [self.coordinator.call_body(c, ns=ns) for c in found]}

    async def client_event(self, request: web.Request) -> web.StreamResponse:
        """``POST /api/v2/video/call_client_event``: keep the reported client events."""
        started = now_ns()
        auth = self.coordinator.auth
        try:
            auth.check_api_key(request.query.get("api_key"))
            token = request.headers.get("Authorization")
            if token and request.headers.get("stream-auth-type", "jwt") == "jwt":
                auth.verify(token)
            try:
                body = json.loads(await request.read() or b"{}")
            except json.JSONDecodeError as exc:
                raise ApiError(400, CODE_INPUT, "invalid JSON body") from exc
            events = body.get("events") if isinstance(body, dict) else None
            if (
                not isinstance(events, list)
                or not 1 <= len(events) <= CLIENT_EVENTS_MAX
                or not all(isinstance(e, dict) for e in events)
            ):
                raise ApiError(
                    400,
                    CODE_INPUT,
                    'ReportClientEvent failed with error: "events must hold 1 to '
                    f'{CLIENT_EVENTS_MAX} objects"',
                )
        except ApiError as exc:
            return exc.response()
        self.coordinator.state.client_events.extend(events)
        return web.json_response({"duration": payloads.duration(started)})

    async def hint(self, request: web.Request) -> web.StreamResponse:
        """``HEAD /hint``: the location hint, as a CloudFront edge names itself."""
        return web.Response(status=200, headers={"x-amz-cf-pop": LOCAL_POP})
