"""The join page's signaling bridge: JSON over a WebSocket to the SFU's protobuf socket.

A browser page has no protobuf library (and the page ships none), so the server offers it a
plain JSON socket (``GET /join/api/sfu``). Behind it the bridge is an ordinary SFU client of
this same server: it opens the SFU signaling WebSocket (``/ws``) and speaks protobuf on it, as
an SDK does, so to the SFU, the coordinator and every other participant the page is one more
participant. (The SFU's Twirp API needs no bridge: it answers JSON itself.)

From the page: ``{"request": <SfuRequest>}``, sent on the signaling socket (``join_request``,
``health_check_request``, ``leave_call_request``), fields as in the protobuf (snake_case or
camelCase, enums by name). To the page: ``{"event": <SfuEvent>}`` for each signaling event,
with snake_case field names and enum names, or ``{"error": "..."}`` for a request it could
not read. Closing the page's socket closes the signaling socket normally (code 1000), which
the SFU takes as the participant leaving.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from getstream.video.rtc.pb.stream.video.sfu.event import events_pb2
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from loguru import logger

MAX_MESSAGE = 8 * 1024 * 1024


def _to_json(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


class Bridge:
    """One page's bridge: its JSON socket and the SFU socket behind it.

    Args:
        page: The page's (prepared) WebSocket.
        http: The HTTP session the SFU socket is opened with.
        base_url: This server's ``http://host:port``.

    """

    def __init__(self, page: web.WebSocketResponse, http: aiohttp.ClientSession, base_url: str):
        self.page = page
        self.http = http
        self.base_url = base_url
        self._send_lock = asyncio.Lock()

    async def to_page(self, message: dict[str, Any]) -> None:
        """Send one JSON message to the page (dropped if its socket is closed)."""
        if self.page.closed:
            return
        async with self._send_lock:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.page.send_str(json.dumps(message))

    async def run(self) -> None:
        """Bridge until the page or the SFU closes its socket."""
        ws_url = "ws" + self.base_url[len("http") :] + "/ws"
        sfu = await self.http.ws_connect(ws_url, max_msg_size=MAX_MESSAGE, heartbeat=None)
        pump = asyncio.ensure_future(self._events_to_page(sfu))
        try:
            async for msg in self.page:
                if msg.type != WSMsgType.TEXT:
                    break
                try:
                    message = json.loads(msg.data)
                except json.JSONDecodeError:
                    logger.warning("join page bridge: a message that is not JSON was ignored")
                    continue
                if not isinstance(message, dict):
                    continue
                if "request" in message:
                    await self._request(sfu, message["request"])
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            await sfu.close(code=1000)

    async def _request(self, sfu: Any, body: Any) -> None:
        try:
            request = json_format.ParseDict(body, events_pb2.SfuRequest())
        except (json_format.ParseError, TypeError) as exc:
            await self.to_page({"error": f"bad SFU request: {exc}"})
            return
        if not sfu.closed:
            await sfu.send_bytes(request.SerializeToString())

    async def _events_to_page(self, sfu: Any) -> None:
        async for msg in sfu:
            if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                break
            data = msg.data if isinstance(msg.data, bytes) else str(msg.data).encode()
            try:
                event = events_pb2.SfuEvent.FromString(data)
            except DecodeError:
                continue
            await self.to_page({"event": _to_json(event)})
        # The SFU closed the socket (refused join, call ended, server stopping).
        await self.page.close()


async def serve_bridge(request: web.Request, base_url: Callable[[], str]) -> web.StreamResponse:
    """Serve one page's bridge socket until either side closes."""
    page = web.WebSocketResponse(heartbeat=None, max_msg_size=MAX_MESSAGE)
    await page.prepare(request)
    async with aiohttp.ClientSession() as http:
        bridge = Bridge(page, http, base_url())
        try:
            await bridge.run()
        except (aiohttp.ClientError, ConnectionError) as exc:
            logger.info("join page bridge: the SFU connection failed: {!r}", exc)
            await bridge.to_page({"error": f"the SFU connection failed: {exc!r}"})
        except Exception:
            logger.exception("join page bridge failed")
        finally:
            await page.close()
    return page
