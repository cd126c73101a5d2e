"""``LocalStreamServer``: lifecycle, introspection and fault injection."""

from __future__ import annotations

import asyncio
import secrets
import threading
from types import TracebackType
from typing import Any

from aiohttp import web
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from loguru import logger

from pipecat_getstream.testing.server.auth import Authenticator
from pipecat_getstream.testing.server.coordinator.routes import Coordinator
from pipecat_getstream.testing.server.coordinator.websocket import drop_connections
from pipecat_getstream.testing.server.cors import enable_cors
from pipecat_getstream.testing.server.faults import FaultState
from pipecat_getstream.testing.server.join_page import join_page_routes
from pipecat_getstream.testing.server.moderation import PeopleMixin
from pipecat_getstream.testing.server.server_thread import ServerThread
from pipecat_getstream.testing.server.sfu.core import Sfu
from pipecat_getstream.testing.server.sfu.signal import sfu_routes
from pipecat_getstream.testing.server.sfu.twirp import twirp_routes
from pipecat_getstream.testing.server.state import ServerState
from pipecat_getstream.testing.server.webhooks import WebhookSender, WebhookStats


class LocalStreamServer(PeopleMixin):
    """An in-process stand-in for GetStream's cloud (coordinator + SFU).

    The unmodified GetStream SDK talks to it as to the cloud: coordinator REST
    and WebSocket, SFU signaling WebSocket and Twirp, and WebRTC media through
    a forwarding unit that relays RTP packets without decoding them (Opus, VP8,
    VP9, H.264), as a real SFU does. It runs on its own thread with its own asyncio
    loop, so callers on any loop (or none) can use it. All traffic stays on
    the given host; media candidates are on ``127.0.0.1``.

    Example:
        >>> async with LocalStreamServer() as server:  # doctest: +SKIP
        ...     client = AsyncStream(api_key=server.api_key,
        ...                          api_secret=server.api_secret,
        ...                          base_url=server.base_url)

    Args:
        host: Address to listen on.
        port: Port to listen on; ``0`` picks a free one.
        api_key: API key clients must use; random when ``None``.
        api_secret: HS256 secret tokens are checked with; random when ``None``.
        fast_reconnect_deadline_s: Seconds a participant whose signaling socket
            dropped is kept for a fast reconnect before it leaves.
        ice_host: Address of the server's own ICE host candidates.
        webhook_url: Where signed webhooks go (the app's webhook setting in the cloud);
            ``None`` sends none. :attr:`webhook_url` can also be set while running.

    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        fast_reconnect_deadline_s: int = 10,
        ice_host: str = "127.0.0.1",
        webhook_url: str | None = None,
    ) -> None:
        self.host = host
        self.api_key = api_key or f"local{secrets.token_hex(8)}"
        # Hex, like the key: a URL-safe token may start with "-", which a command line
        # (``--api-secret -x...``) takes for an option.
        self.api_secret = api_secret or secrets.token_hex(32)
        self.fast_reconnect_deadline_s = fast_reconnect_deadline_s
        self.ice_host = ice_host
        self._requested_port = port
        self._port: int | None = None
        self._loop_thread = ServerThread("LocalStreamServer")
        self._runner: web.AppRunner | None = None
        self._state = ServerState()
        self._faults = FaultState()
        self._webhooks = WebhookSender(self._state, self.api_key, self.api_secret, webhook_url)
        self._sfu: Sfu | None = None
        self._coordinator: Coordinator | None = None
        self._lock = threading.Lock()

    # -------------------------------------------------------------- addresses
    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("LocalStreamServer is not started")
        return self._port

    @property
    def public_host(self) -> str:
        """The host clients connect to (``127.0.0.1`` when listening on all interfaces)."""
        return "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host

    @property
    def base_url(self) -> str:
        """``http://host:port``: pass it as the SDK's ``base_url``."""
        return f"http://{self.public_host}:{self.port}"

    @property
    def coordinator_ws_url(self) -> str:
        """The coordinator WebSocket URL (the SDK's ``StreamAPIWS(uri=...)``)."""
        return f"ws://{self.public_host}:{self.port}/api/v2/connect"

    @property
    def sfu_ws_url(self) -> str:
        """The SFU signaling WebSocket URL handed out by the join call."""
        return f"ws://{self.public_host}:{self.port}/ws"

    @property
    def webhook_url(self) -> str | None:
        """Where signed webhooks are POSTed (``None``: nowhere); settable at any time."""
        return self._webhooks.url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        self._webhooks.url = url

    @property
    def webhooks(self) -> WebhookStats:
        """Counts of webhook deliveries, failures and drops so far."""
        return self._webhooks.stats

    @property
    def running(self) -> bool:
        """Whether the server is started."""
        return self._loop_thread.running

    # -------------------------------------------------------------- lifecycle
    def start(self) -> LocalStreamServer:
        """Start the server on its own thread; returns once it accepts connections.

        Raises:
            OSError: If the address cannot be bound.

        """
        with self._lock:
            if not self.running:
                self._loop_thread.start(self._startup)
                logger.info("LocalStreamServer listening on {}", self.base_url)
            return self

    def stop(self) -> None:
        """Close every session and socket, stop the loop and join the thread."""
        with self._lock:
            self._loop_thread.stop(self._shutdown)
            self._port = None

    def __enter__(self) -> LocalStreamServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LocalStreamServer:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    async def _startup(self) -> None:
        auth = Authenticator(self.api_key, self.api_secret)
        self._sfu = Sfu(
            self._state, auth, self._faults, self.ice_host, self.fast_reconnect_deadline_s
        )
        self._coordinator = Coordinator(self._state, auth, self._faults, self._sfu, "")
        await self._webhooks.start()
        self._sfu.on_joined = self._webhooks.participant_joined
        self._coordinator.on_publish = self._webhooks.published
        app = web.Application(client_max_size=8 * 1024 * 1024)
        enable_cors(app)  # browser apps on other origins (the web SDK)
        app.add_routes(sfu_routes(self._sfu))
        app.add_routes(twirp_routes(self._sfu))
        app.add_routes(self._coordinator.routes())
        app.add_routes(join_page_routes(self.api_key, self.api_secret, lambda: self.base_url))
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            raise
        self._port = int(self._runner.addresses[0][1])
        self._coordinator.public_base = self.base_url

    async def _shutdown(self) -> None:
        await self._webhooks.close()
        if self._sfu is not None:
            await self._sfu.close()
        if self._coordinator is not None:
            drop_connections(self._coordinator)
        if self._runner is not None:
            await self._runner.cleanup()

    # ---------------------------------------------------------- introspection
    @property
    def join_count(self) -> int:
        """Successful coordinator join REST calls so far."""
        return self._state.join_count

    @property
    def sfu_join_count(self) -> int:
        """SFU sessions created (fresh joins; fast reconnects not counted)."""
        return self._state.sfu_join_count

    @property
    def reconnect_count(self) -> int:
        """Fast reconnects the SFU resumed."""
        return self._state.reconnect_count

    @property
    def custom_events(self) -> list[tuple[str, dict[str, Any]]]:
        """Custom events accepted so far, as ``(call_cid, custom)`` pairs."""
        return list(self._state.custom_events)

    @property
    def client_events(self) -> list[dict[str, Any]]:
        """The latest client telemetry events browsers reported (``call_client_event``)."""
        return list(self._state.client_events)

    def participants(self, call_type: str, call_id: str) -> list[str]:
        """User ids currently in the call's SFU session (one entry per session)."""

        async def read() -> list[str]:
            call = self._state.find_call(call_type, call_id)
            return [] if call is None else [s.user_id for s in call.sessions.values() if not s.gone]

        return self._loop_thread.run(read())

    def sessions(self, call_type: str, call_id: str) -> list[dict[str, Any]]:
        """Details of each live session in a call.

        Each entry has ``user_id``, ``session_id``, ``track_lookup_prefix``,
        ``connected``, ``published`` (track type names), ``frames_received``
        (per track type), ``subscriptions`` and ``forwarded`` (track ids sent to it).
        """

        async def read() -> list[dict[str, Any]]:
            call = self._state.find_call(call_type, call_id)
            if call is None:
                return []
            result = []
            for s in call.sessions.values():
                result.append(
                    {
                        "user_id": s.user_id,
                        "session_id": s.session_id,
                        "track_lookup_prefix": s.prefix,
                        "connected": s.ws is not None,
                        "published": [models_pb2.TrackType.Name(t) for t in s.published_types],  # type: ignore[arg-type]
                        "frames_received": {
                            models_pb2.TrackType.Name(t): f.frames
                            for t, f in s.published.items()  # type: ignore[arg-type]
                        },
                        "subscriptions": sorted(s.subscriptions),
                        "forwarded": dict(s.subscriber.forwarded) if s.subscriber else {},
                    }
                )
            return result

        return self._loop_thread.run(read())

    def calls(self) -> list[str]:
        """Cids of the calls the coordinator knows."""

        async def read() -> list[str]:
            return list(self._state.calls)

        return self._loop_thread.run(read())

    def watchers(self, call_type: str, call_id: str) -> list[str]:
        """User ids of the coordinator sockets watching a call (custom events reach them)."""

        async def read() -> list[str]:
            call = self._state.find_call(call_type, call_id)
            return [] if call is None else [c.user_id for c in self._state.watchers(call)]

        return self._loop_thread.run(read())

    def coordinator_connection_ids(self, user_id: str) -> list[str]:
        """Connection ids of a user's open coordinator WebSockets (a reconnect gets a new one)."""

        async def read() -> list[str]:
            conns = self._state.connections.values()
            return [c.connection_id for c in conns if c.user_id == user_id]

        return self._loop_thread.run(read())

    def coordinator_connections(self, user_id: str | None = None) -> int:
        """Open coordinator WebSockets (all, or one user's)."""

        async def count() -> int:
            conns = self._state.connections.values()
            return sum(1 for c in conns if user_id is None or c.user_id == user_id)

        return self._loop_thread.run(count())

    # --------------------------------------------------------- fault injection
    def drop_sfu_socket(
        self, user_id: str, call_type: str | None = None, call_id: str | None = None
    ) -> int:
        """Abort a participant's SFU signaling socket (no close frame), like a network drop.

        The SDK then fast-reconnects; the session is kept for
        ``fast_reconnect_deadline_s``. Returns the number of sockets dropped.
        """

        async def drop() -> int:
            sessions = self._state.sessions_of(user_id)
            if call_type is not None and call_id is not None:
                sessions = [s for s in sessions if s.call.cid == f"{call_type}:{call_id}"]
            assert self._sfu is not None
            return sum(1 for s in sessions if self._sfu.drop_socket(s))

        return self._loop_thread.run(drop())

    def end_call(self, call_type: str, call_id: str) -> bool:
        """End a call for everyone.

        Sends ``call_ended`` to every participant, closes their sockets and sends
        ``call.ended`` to coordinator watchers. Returns ``False`` if the call does not exist.
        """

        async def end() -> bool:
            call = self._state.find_call(call_type, call_id)
            if call is None or self._coordinator is None:
                return False
            await self._coordinator.end(call)
            return True

        return self._loop_thread.run(end())

    def set_media_faults(
        self, drop_fraction: float = 0.0, delay_ms: int = 0, *, user_id: str | None = None
    ) -> None:
        """Drop a fraction of forwarded RTP packets and/or delay every forwarded packet.

        Faults act on packets, as a lossy or slow network would: a receiver may recover a
        dropped packet by NACK (SDK 7.x asks for audio too, 3.x-6.x for video only).

        Args:
            drop_fraction: Fraction (0..1) of packets dropped.
            delay_ms: Milliseconds added to each packet.
            user_id: Apply to the media this participant receives only; ``None``
                sets the faults of everyone without faults of their own. With no
                arguments at all every fault is cleared.

        Raises:
            ValueError: If an argument is out of range.

        """
        if user_id is None and drop_fraction == 0.0 and delay_ms == 0:
            self._faults.clear_media()
            return
        self._faults.set_media(drop_fraction, delay_ms, user_id)

    def fail_next_requests(self, n: int, status: int = 503) -> None:
        """Make the next ``n`` coordinator REST calls (any endpoint) fail with ``status``.

        Raises:
            ValueError: If ``n`` is negative or ``status`` is not 400-599.

        """
        self._faults.requests.arm(n, status)

    def fail_next_joins(self, n: int, status: int = 503) -> None:
        """Make the next ``n`` join REST calls fail with ``status`` (GetStream error JSON)."""
        self._faults.joins.arm(n, status)

    def drop_coordinator_sockets(self, user_id: str | None = None) -> int:
        """Abort coordinator WebSockets (all, or one user's); the SDK reconnects and re-watches.

        Returns the number of sockets dropped.
        """

        async def drop() -> int:
            assert self._coordinator is not None
            return drop_connections(self._coordinator, user_id)

        return self._loop_thread.run(drop())
