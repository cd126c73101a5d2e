"""The SFU's Twirp ``SignalServer``: protobuf or protobuf's JSON mapping over HTTP POST.

Twirp serves each method in both encodings, chosen by the request's ``Content-Type``:
``application/protobuf`` (the Python SDKs) and ``application/json`` (GetStream's web SDK,
which sends nothing else), answered in the same one. JSON bodies are read with
``google.protobuf.json_format`` (unknown fields ignored, either field-name style) and
answered with the proto field names, as Twirp servers do. Cross-origin access (preflights,
``Access-Control-*`` headers) is granted to every route of the server by
:mod:`pipecat_getstream.testing.server.cors`.
"""

from __future__ import annotations

import contextlib
from typing import Any

from aiohttp import web
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from getstream.video.rtc.pb.stream.video.sfu.signal_rpc import signal_pb2
from google.protobuf import json_format, symbol_database
from google.protobuf.message import DecodeError, Message
from loguru import logger

from pipecat_getstream.testing.server.auth import ApiError, twirp_error
from pipecat_getstream.testing.server.sfu.core import Sfu
from pipecat_getstream.testing.server.sfu.mute import update_mute_states
from pipecat_getstream.testing.server.sfu.publisher_link import candidate_from_json
from pipecat_getstream.testing.server.state import SfuSession

SERVICE = "stream.video.sfu.signal.SignalServer"
PREFIX = "/twirp"
PROTOBUF = "application/protobuf"
JSON = "application/json"


def decode(body: bytes, cls: type[Message], content_type: str) -> Message:
    """Read a request body in the encoding its content type names.

    Raises:
        DecodeError: When the body is not a valid message in that encoding.

    """
    if content_type == JSON:
        try:
            return json_format.Parse(body or b"{}", cls(), ignore_unknown_fields=True)
        except (json_format.ParseError, UnicodeDecodeError) as exc:
            raise DecodeError(str(exc)) from exc
    return cls.FromString(body)


def encode(message: Message, content_type: str) -> bytes:
    """Write a response body in the encoding of the request."""
    if content_type == JSON:
        return json_format.MessageToJson(message, preserving_proto_field_name=True).encode()
    return message.SerializeToString()


def _message_classes() -> dict[str, tuple[type[Message], type[Message]]]:
    service = signal_pb2.DESCRIPTOR.services_by_name["SignalServer"]
    db = symbol_database.Default()
    return {
        method.name: (
            db.GetSymbol(method.input_type.full_name),
            db.GetSymbol(method.output_type.full_name),
        )
        for method in service.methods
    }


def _with_error(response: Message, code: int, message: str) -> Message:
    if "error" in response.DESCRIPTOR.fields_by_name:
        response.error.CopyFrom(models_pb2.Error(code=code, message=message))  # type: ignore[attr-defined]
    return response


def twirp_routes(sfu: Sfu) -> list[web.RouteDef]:
    """Return the aiohttp route serving every ``SignalServer`` method."""
    classes = _message_classes()

    async def handler(request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if method not in classes:
            return twirp_error(404, "bad_route", f"no method {method} on {SERVICE}")
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type not in (PROTOBUF, JSON):
            return twirp_error(400, "malformed", f"unsupported content type {content_type!r}")
        try:
            token = sfu.auth.verify_sfu(request.headers.get("authorization", ""))
        except ApiError as exc:
            return twirp_error(401, "unauthenticated", exc.message)
        in_cls, out_cls = classes[method]
        try:
            req: Any = decode(await request.read(), in_cls, content_type)
        except DecodeError:
            return twirp_error(400, "malformed", f"the body is not a valid {method} request")
        response: Message = out_cls()
        session_id = getattr(req, "session_id", "")
        call = sfu.state.calls.get(str(token.claims["call_cid"]))
        session: SfuSession | None = call.sessions.get(session_id) if call and session_id else None
        if session is not None and session.user_id != token.user_id:
            session = None
        needs_session = method in {
            "SetPublisher",
            "SendAnswer",
            "UpdateSubscriptions",
            "IceTrickle",
        }
        if needs_session and session is None:
            logger.info("Twirp {}: unknown session {}", method, session_id)
            response = _with_error(
                response, models_pb2.ERROR_CODE_PARTICIPANT_NOT_FOUND, "participant not found"
            )
        elif session is not None:
            try:
                response = await _dispatch(sfu, method, session, req, response)
            except Exception as exc:
                logger.exception("Twirp {} failed", method)
                response = _with_error(
                    response, models_pb2.ERROR_CODE_INTERNAL_SERVER_ERROR, str(exc)
                )
        return web.Response(body=encode(response, content_type), content_type=content_type)

    return [web.post(f"{PREFIX}/{SERVICE}/{{method}}", handler)]


async def _dispatch(
    sfu: Sfu, method: str, session: SfuSession, req: Any, response: Message
) -> Message:
    if method == "SetPublisher":
        return await sfu.set_publisher(session, req)
    if method == "UpdateSubscriptions":
        await sfu.update_subscriptions(session, req)
    elif method == "UpdateMuteStates":
        await update_mute_states(sfu, session, req)
    elif method == "SendAnswer":
        if req.peer_type == models_pb2.PEER_TYPE_SUBSCRIBER and session.subscriber is not None:
            await session.subscriber.on_answer(req.sdp)
    elif method == "IceTrickle":
        subscriber = req.peer_type == models_pb2.PEER_TYPE_SUBSCRIBER
        link = session.subscriber if subscriber else session.publisher
        with contextlib.suppress(Exception):
            candidate = candidate_from_json(req.ice_candidate)
            if link is not None and candidate is not None:
                await link.add_candidate(candidate)
    return response
