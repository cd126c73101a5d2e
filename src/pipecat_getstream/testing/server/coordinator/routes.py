"""The coordinator: REST routes under ``/api/v2`` and the coordinator WebSocket."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from loguru import logger

from pipecat_getstream.testing.server.auth import (
    CODE_DOES_NOT_EXIST,
    CODE_INPUT,
    CODE_INTERNAL,
    ApiError,
    Authenticator,
    TokenInfo,
)
from pipecat_getstream.testing.server.coordinator import payloads
from pipecat_getstream.testing.server.coordinator.call_events import CallEvents
from pipecat_getstream.testing.server.coordinator.client_api import ClientApi
from pipecat_getstream.testing.server.coordinator.custom_events import CustomEvents
from pipecat_getstream.testing.server.coordinator.websocket import serve_connection
from pipecat_getstream.testing.server.faults import FaultState
from pipecat_getstream.testing.server.sfu.core import Sfu
from pipecat_getstream.testing.server.state import (
    KNOWN_CALL_TYPES,
    CallRecord,
    ServerState,
    now_ns,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Coordinator:
    """GetStream's coordinator API, as the Python SDKs and the web SDK call it.

    The web SDK's base URL is ``{server}/api/v2/video``: its REST paths and its socket
    (``{baseURL}/connect``) fall under it, beside the Python SDKs' ``/api/v2/connect``.

    Args:
        state: The server state.
        auth: Token checks.
        faults: REST and join failures to inject.
        sfu: The SFU (calls ending, kicks).
        public_base: ``http://host:port`` clients reach this server at.

    """

    def __init__(
        self,
        state: ServerState,
        auth: Authenticator,
        faults: FaultState,
        sfu: Sfu,
        public_base: str,
    ) -> None:
        self.state = state
        self.auth = auth
        self.faults = faults
        self.sfu = sfu
        self.public_base = public_base
        self.events = CallEvents(self)
        self.client_api = ClientApi(self)
        self.custom_events = CustomEvents(self)
        #: Called with each event published to a call's watchers (the app's webhook).
        self.on_publish: Callable[[CallRecord, dict[str, Any]], None] | None = None
        sfu.on_left = self.events.session_left

    def routes(self) -> list[web.RouteDef]:
        """Return the coordinator's aiohttp routes."""
        call = "/api/v2/video/call/{type}/{id}"
        return [
            web.get("/api/v2/connect", self.connect),
            web.get("/api/v2/video/connect", self.connect),
            web.post("/api/v2/users", self.rest(self.upsert_users)),
            web.get(call, self.rest(self.get_call)),
            web.post(call, self.rest(self.get_or_create)),
            web.post("/video/call/{type}/{id}", self.rest(self.get_or_create)),
            web.post(call + "/join", self.rest(self.join)),
            web.post(call + "/delete", self.rest(self.delete_call)),
            web.post(call + "/mark_ended", self.rest(self.mark_ended)),
            web.post(call + "/kick", self.rest(self.kick)),
            *self.custom_events.routes(),
            *self.events.routes(),
            *self.client_api.routes(),
            web.route("*", "/api/v2/{tail:.*}", self.rest(self.unknown)),
        ]

    # --------------------------------------------------------------- helpers
    def rest(
        self, fn: Callable[[web.Request, TokenInfo, dict[str, Any]], Awaitable[dict[str, Any]]]
    ) -> Handler:
        """Wrap a route: auth, injected faults, JSON body, GetStream's error shape."""

        async def handler(request: web.Request) -> web.StreamResponse:
            started = now_ns()
            try:
                token = self.auth.check_rest(request)
                failure = self.faults.requests.take()
                if failure is not None:
                    raise ApiError(failure, CODE_INTERNAL, f"injected failure ({failure})")
                body: dict[str, Any] = {}
                if request.can_read_body:
                    raw = await request.read()
                    if raw:
                        parsed = json.loads(raw)
                        if not isinstance(parsed, dict):
                            raise ApiError(
                                400, CODE_INPUT, "the request body must be a JSON object"
                            )
                        body = parsed
                result = await fn(request, token, body)
            except ApiError as exc:
                logger.info(
                    "coordinator {} {} -> {} {}",
                    request.method,
                    request.path,
                    exc.status,
                    exc.message,
                )
                return exc.response()
            except json.JSONDecodeError:
                return ApiError(400, CODE_INPUT, "invalid JSON body").response()
            result["duration"] = payloads.duration(started)
            return web.json_response(result)

        return handler

    def call_or_404(self, request: web.Request, verb: str) -> CallRecord:
        """The call of the request's path, or a 404 ``ApiError``."""
        call_type, call_id = request.match_info["type"], request.match_info["id"]
        self._check_type(call_type, verb)
        call = self.state.find_call(call_type, call_id)
        if call is None:
            raise ApiError(
                404,
                CODE_DOES_NOT_EXIST,
                f'{verb} failed with error: "Can\'t find call with id {call_type}:{call_id}"',
            )
        return call

    @staticmethod
    def _check_type(call_type: str, verb: str) -> None:
        if call_type not in KNOWN_CALL_TYPES:
            raise ApiError(
                404,
                CODE_DOES_NOT_EXIST,
                f'{verb} failed with error: "call type {call_type} does not exist"',
            )

    def _creator(self, token: TokenInfo, data: dict[str, Any]) -> str:
        created_by = data.get("created_by") or {}
        named = data.get("created_by_id") or (
            created_by.get("id") if isinstance(created_by, dict) else None
        )
        user_id = self.auth.acting_user(token, named)
        if user_id is None:
            raise ApiError(
                400,
                CODE_INPUT,
                "either data.created_by or data.created_by_id must be provided "
                "when using server side auth.",
            )
        return user_id

    def _ensure_call(
        self, request: web.Request, token: TokenInfo, body: dict[str, Any], verb: str
    ) -> tuple[CallRecord, bool]:
        call_type, call_id = request.match_info["type"], request.match_info["id"]
        self._check_type(call_type, verb)
        call = self.state.find_call(call_type, call_id)
        if call is not None:
            return call, False
        data = body.get("data") or {}
        creator = self._creator(token, data)
        self.state.ensure_user(creator)
        call = CallRecord(
            call_type=call_type,
            call_id=call_id,
            created_by=creator,
            custom=dict(data.get("custom") or {}),
        )
        for member in data.get("members") or []:
            if isinstance(member, dict) and member.get("user_id"):
                self.state.ensure_user(str(member["user_id"]))
                call.members[str(member["user_id"])] = str(member.get("role") or "user")
        self.state.calls[call.cid] = call
        logger.info("coordinator: call {} created by {}", call.cid, creator)
        return call, True

    def call_body(
        self, call: CallRecord, created: bool | None = None, *, ns: bool = True
    ) -> dict[str, Any]:
        """The call's ``CallStateResponseFields`` (plus ``created`` when given)."""
        body: dict[str, Any] = {
            "call": payloads.call_json(self.state, call, ns=ns),
            "members": payloads.members_json(self.state, call, ns=ns),
            "own_capabilities": [
                "join-call",
                "send-audio",
                "send-video",
                "screenshare",
                "create-call",
                "end-call",
            ],
        }
        if created is not None:
            body["created"] = created
        return body

    # ---------------------------------------------------------------- routes
    async def upsert_users(
        self, request: web.Request, token: TokenInfo, body: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST /api/v2/users``: create or update users."""
        users = body.get("users")
        if not isinstance(users, dict):
            raise ApiError(
                400, CODE_INPUT, 'UpdateUsers failed with error: "users is a required field"'
            )
        result = {}
        for user_id, fields in users.items():
            fields = fields if isinstance(fields, dict) else {}
            self.auth.acting_user(token, str(fields.get("id") or user_id))
            user = self.state.ensure_user(
                str(user_id),
                name=fields.get("name"),
                role=fields.get("role"),
                image=fields.get("image"),
                custom=fields.get("custom"),
            )
            result[user.id] = payloads.full_user_json(user, ns=payloads.wants_ns(request))
            self.state.rest_log.append(("upsert_users", {"id": user.id, "name": user.name}))
            await self.events.user_updated(user)
        return {"users": result, "membership_deletion_task_id": ""}

    async def get_call(
        self, request: web.Request, token: TokenInfo, body: dict[str, Any]
    ) -> dict[str, Any]:
        """``GET /api/v2/video/call/{type}/{id}``."""
        call = self.call_or_404(request, "GetCall")
        return self.call_body(call, ns=payloads.wants_ns(request))

    async def get_or_create(
        self, request: web.Request, token: TokenInfo, body: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST .../call/{type}/{id}``: get-or-create, and watch with ``?connection_id=``."""
        call, created = self._ensure_call(request, token, body, "GetOrCreateCall")
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        created_by = (data or {}).get("created_by_id")
        self.state.rest_log.append(
            ("get_or_create", {"cid": call.cid, "created_by_id": created_by})
        )
        self.watch(request, token, call, required=True)
        return self.call_body(call, created, ns=payloads.wants_ns(request))

    def watch(
        self, request: web.Request, token: TokenInfo, call: CallRecord, *, required: bool
    ) -> None:
        """Watch ``call`` on the coordinator socket named by ``?connection_id=``, if any.

        SDK 3.x-6.x watch with get-or-create; SDK 7.x passes its connection id on the
        join instead. An unknown id fails a watch (``required``) but not a join: the
        socket may have dropped between connecting and joining, and the SDK watches
        again on reconnect.

        Raises:
            ApiError: 400 for an unknown id when ``required``; 403 when the socket
                belongs to another user than a user token's.

        """
        connection_id = request.query.get("connection_id")
        if not connection_id:
            return
        conn = self.state.connections.get(connection_id)
        if conn is None:
            if required:
                raise ApiError(400, CODE_INPUT, f"connection_id {connection_id} is not connected")
            logger.info("coordinator: join names unknown connection_id {}", connection_id)
            return
        self.auth.acting_user(token, conn.user_id)
        conn.watching.add(call.cid)
        logger.debug("coordinator: {} watches {}", conn.user_id, call.cid)

    async def join(
        self, request: web.Request, token: TokenInfo, body: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST .../join``: return SFU credentials pointing at this server."""
        failure = self.faults.joins.take()
        if failure is not None:
            raise ApiError(
                failure, CODE_INTERNAL, f"JoinCall failed with error: injected failure ({failure})"
            )
        if token.user_id is None:
            raise ApiError(400, CODE_INPUT, "JoinCall failed with error: a user token is required")
        if body.get("create"):
            call, created = self._ensure_call(request, token, body, "JoinCall")
        else:
            call, created = self.call_or_404(request, "JoinCall"), False
        self.state.ensure_user(token.user_id)
        self.watch(request, token, call, required=False)
        call.rest_joins[token.user_id] = call.rest_joins.get(token.user_id, 0) + 1
        self.state.join_count += 1
        ws_base = "ws" + self.public_base[len("http") :]
        result = self.call_body(call, created, ns=payloads.wants_ns(request))
        result["credentials"] = {
            "server": {
                "url": f"{self.public_base}/twirp",
                "ws_endpoint": f"{ws_base}/ws",
                "edge_name": "sfu-local-" + self.public_base.split("//", 1)[1].replace(":", "-"),
            },
            "token": self.auth.mint_sfu_token(token.user_id, call.cid),
            "ice_servers": [],
        }
        result["stats_options"] = {"reporting_interval_ms": 8000, "enable_rtc_stats": False}
        return result

    async def delete_call(
        self, request: web.Request, token: TokenInfo, body: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST .../delete``: end the call's session and forget the call."""
        call = self.call_or_404(request, "DeleteCall")
        await self.end(call)
        self.state.calls.pop(call.cid, None)
        return {"call": payloads.call_json(self.state, call, ns=payloads.wants_ns(request))}

    async def mark_ended(
        self, request: web.Request, token: TokenInfo, body: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST .../mark_ended``: end the call for everyone."""
        await self.end(self.call_or_404(request, "EndCall"))
        return {}

    async def kick(
        self, request: web.Request, token: TokenInfo, body: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST .../kick``: remove a participant from the call."""
        call = self.call_or_404(request, "KickUser")
        user_id = body.get("user_id")
        if not user_id:
            raise ApiError(
                400, CODE_INPUT, 'KickUser failed with error: "user_id is a required field"'
            )
        await self.events.kick(call, str(user_id), body.get("kicked_by_id"))
        return {}

    async def unknown(
        self, request: web.Request, token: TokenInfo, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Any other ``/api/v2`` path: 404 in GetStream's error shape."""
        raise ApiError(
            404,
            CODE_DOES_NOT_EXIST,
            f"{request.method} {request.path} is not served by the local server",
        )

    # ------------------------------------------------------- call broadcasts
    async def publish(self, call: CallRecord, event: dict[str, Any]) -> int:
        """Send a JSON event to every coordinator socket watching the call."""
        if self.on_publish is not None:
            self.on_publish(call, event)
        text = json.dumps(event)
        sent = 0
        for conn in self.state.watchers(call):
            try:
                await conn.ws.send_str(text)
                sent += 1
            except (ConnectionError, RuntimeError):
                logger.debug("coordinator: could not send to {}", conn.connection_id)
        return sent

    async def end(self, call: CallRecord) -> None:
        """End a call: ``call_ended`` on the SFU, ``call.ended`` on the coordinator."""
        call.ended_at = call.updated_at = now_ns()
        await self.sfu.end_call(call, models_pb2.CALL_ENDED_REASON_ENDED)
        await self.publish(call, payloads.call_event_json("call.ended", self.state, call))

    async def connect(self, request: web.Request) -> web.StreamResponse:
        """``GET /api/v2/connect`` and ``/api/v2/video/connect``: the coordinator WebSocket."""
        return await serve_connection(self, request)
