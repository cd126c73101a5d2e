"""The SFU signaling WebSocket: protobuf ``SfuRequest`` in, ``SfuEvent`` out.

The SDK sends protobuf bytes in *text* frames, so frames are read undecoded
(either opcode is accepted) and every reply is a binary frame.
"""

from __future__ import annotations

from aiohttp import WSMsgType, web
from getstream.video.rtc.pb.stream.video.sfu.event import events_pb2
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from google.protobuf.message import DecodeError
from loguru import logger

from pipecat_getstream.testing.server.sfu.core import Sfu, SfuError
from pipecat_getstream.testing.server.state import SfuSession

MAX_MESSAGE = 8 * 1024 * 1024


def _error_event(code: int, message: str) -> events_pb2.SfuEvent:
    error = models_pb2.Error(code=code, message=message, should_retry=False)  # type: ignore[arg-type]
    return events_pb2.SfuEvent(error=events_pb2.Error(error=error))


def sfu_routes(sfu: Sfu) -> list[web.RouteDef]:
    """Return the aiohttp route of the SFU signaling socket (``GET /ws``)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            heartbeat=None, timeout=2.0, max_msg_size=MAX_MESSAGE, decode_text=False
        )
        await ws.prepare(request)
        session: SfuSession | None = None
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                data = msg.data if isinstance(msg.data, bytes) else str(msg.data).encode()
                try:
                    req = events_pb2.SfuRequest.FromString(data)
                except DecodeError:
                    logger.warning("SFU: undecodable message ({} bytes)", len(data))
                    continue
                kind = req.WhichOneof("request_payload")
                if kind == "join_request":
                    if session is not None:
                        continue
                    try:
                        session = await sfu.join(ws, request, req.join_request)
                    except SfuError as exc:
                        logger.info("SFU: join refused: {}", exc.message)
                        await ws.send_bytes(_error_event(exc.code, exc.message).SerializeToString())
                        await ws.close(code=1000)
                        break
                elif kind == "health_check_request":
                    count = 0
                    if session is not None:
                        count = sum(1 for s in session.call.sessions.values() if not s.gone)
                    reply = events_pb2.SfuEvent(
                        health_check_response=events_pb2.HealthCheckResponse(
                            participant_count=models_pb2.ParticipantCount(total=count)
                        )
                    )
                    if session is not None:
                        await sfu.send(session, reply)
                    else:
                        await ws.send_bytes(reply.SerializeToString())
                elif kind == "leave_call_request" and session is not None:
                    await sfu.leave(session, req.leave_call_request.reason or "leave request")
        except Exception:
            logger.exception("SFU: signaling socket failed")
        finally:
            if session is not None:
                await sfu.socket_closed(session, ws, ws.close_code)
        return ws

    return [web.get("/ws", handler)]
