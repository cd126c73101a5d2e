"""Everything that depends on GetStream SDK internals or version differences.

Kept in one module so that a new SDK major touches this file (and ``events.py``) only.
Supported: ``getstream[webrtc]`` 3.3.3 up to (not including) 7.
"""

from __future__ import annotations

import asyncio
import functools
from importlib.metadata import version
from typing import Any
from urllib.parse import urlparse

from getstream import AsyncStream
from getstream.video.rtc.connection_manager import ConnectionManager
from getstream.video.rtc.connection_utils import watch_call
from getstream.video.rtc.coordinator.ws import StreamAPIWS
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from getstream.video.rtc.tracks import SubscriptionConfig, TrackSubscriptionConfig
from loguru import logger

from pipecat_getstream.errors import GetstreamConfigError


def sdk_version() -> tuple[int, ...]:
    """The installed GetStream SDK version as a tuple of ints, e.g. ``(6, 1, 1)``."""
    parts = []
    for piece in version("getstream").split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def supports_token_auth() -> bool:
    """Whether the SDK can act with a user token instead of the API secret (3.5.0+)."""
    return sdk_version() >= (3, 5, 0)


def make_stream_client(
    api_key: str, api_secret: str | None, token: str | None, base_url: str
) -> AsyncStream:
    """Create the SDK's REST client, always with an explicit base URL.

    An explicit ``base_url`` matters: the SDK falls back to the ``STREAM_BASE_URL``
    environment variable when it is ``None``, and in this project's example that variable
    names the browser join page, not the API.

    Args:
        api_key: GetStream API key.
        api_secret: API secret (server-side mode), or ``None`` with a token.
        token: Pre-minted user JWT, or ``None`` with the secret.
        base_url: API base URL.

    Returns:
        The SDK's ``AsyncStream`` client.

    """
    if api_secret:
        return AsyncStream(api_key=api_key, api_secret=api_secret, base_url=base_url)
    if not supports_token_auth():
        raise GetstreamConfigError(
            "token-only authentication needs getstream>=3.5.0; pass api_secret instead"
        )
    return AsyncStream(api_key=api_key, token=token, base_url=base_url)  # type: ignore[call-arg]


def coordinator_ws_uri(base_url: str) -> str:
    """The coordinator WebSocket URL that belongs to an API base URL."""
    parsed = urlparse(base_url)
    scheme = "wss" if parsed.scheme == "https" else "ws"
    return f"{scheme}://{parsed.netloc}/api/v2/connect"


def subscription_config(audio: bool, video: bool) -> SubscriptionConfig:
    """Subscribe to the track types the pipeline consumes (the SDK default is none)."""
    types: list[int] = []
    if audio:
        types.append(models_pb2.TRACK_TYPE_AUDIO)
    if video:
        types.append(models_pb2.TRACK_TYPE_VIDEO)
    return SubscriptionConfig(default=TrackSubscriptionConfig(track_types=types))


class RoutedConnectionManager(ConnectionManager):
    """The SDK's ConnectionManager with the coordinator WebSocket sent to our base URL.

    The SDK hard-codes GetStream's cloud coordinator URL; with any other base URL, joining
    works but custom events never arrive. This subclass builds the SDK's own ``StreamAPIWS``
    with the right ``uri`` (per instance: no process-global patch) and otherwise does what
    the SDK does: forward ``custom`` events and watch the call.

    Args:
        *args: Passed to ``ConnectionManager``.
        coordinator_uri: The coordinator WebSocket URL.
        user_token: The user token for the socket when the client has no secret.
        **kwargs: Passed to ``ConnectionManager``.

    """

    def __init__(
        self, *args: Any, coordinator_uri: str, user_token: str | None = None, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self._coordinator_uri = coordinator_uri
        self._user_token = user_token

    async def _connect_coordinator_ws(self) -> None:
        ws_kwargs: dict[str, Any] = {"uri": self._coordinator_uri}
        if self._user_token is not None:
            ws_kwargs["user_token"] = self._user_token
        client = StreamAPIWS(self.call, {"id": self.user_id}, **ws_kwargs)
        self._coordinator_ws_client = client
        client.on("custom", functools.partial(self.emit, "custom"))
        await client.connect()
        client_id = getattr(client, "_client_id", None)
        if self.user_id is None or client_id is None:
            raise RuntimeError("coordinator socket connected without a client id")
        await watch_call(self.call, self.user_id, client_id)


#: Socket closes still running on worker threads (kept referenced until they finish).
_closing: set[asyncio.Future[None]] = set()


def close_signaling_in_background(manager: ConnectionManager) -> asyncio.Future[None] | None:
    """Detach the manager's signaling socket and close it on a worker thread.

    The close frame goes out at once; the SDK's thread joins (up to ~2 s each) finish in the
    background instead of on the event loop.
    """
    ws_client = getattr(manager, "_ws_client", None)
    if ws_client is None:
        return None
    manager._ws_client = None
    closing = asyncio.get_running_loop().run_in_executor(None, ws_client.close)
    _closing.add(closing)
    closing.add_done_callback(_closing.discard)
    return closing


async def leave_without_blocking(manager: ConnectionManager) -> None:
    """Leave the call without freezing the event loop.

    The SDK's ``leave()`` closes its signaling socket synchronously: it sends the close frame
    at once, then joins two threads for up to ~2 s each. On the event loop that freezes every
    other call in the process. Here the socket is detached first and closed on a worker
    thread that is not waited for (the close frame goes out immediately; only the thread
    joins finish in the background), while the rest of the asynchronous teardown runs. So
    leaving takes milliseconds and several transports can leave in parallel.

    Args:
        manager: The connection manager to leave.

    """
    manager.running = False
    close_signaling_in_background(manager)
    try:
        await manager.leave()
    except Exception as exc:  # the call is being left: log, never raise from teardown
        logger.warning(f"error while leaving the GetStream call: {exc!r}")


async def wait_for_closed_sockets(timeout: float = 5.0) -> None:
    """Wait until every signaling socket closed by :func:`leave_without_blocking` is done."""
    loop = asyncio.get_running_loop()
    pending = [future for future in _closing if future.get_loop() is loop]
    if pending:
        await asyncio.wait(pending, timeout=timeout)
