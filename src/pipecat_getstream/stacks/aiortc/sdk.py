"""The aiortc-era SDK's objects: subscriptions, the routed ConnectionManager, leaving off-loop.

For ``getstream[webrtc]`` 3.3.3 up to (not including) 7; CI runs the suite on 6.1.1 and on
3.3.3, the versions in between are not tested. The transport's aiortc stack uses all of
it; the test kit's aiortc participant (:mod:`pipecat_getstream.testing.kit.aiortc_backend`)
uses :class:`RoutedConnectionManager` and :func:`leave_without_blocking`.

Private SDK names this module touches: ``ConnectionManager._connect_coordinator_ws``
(overridden), ``_coordinator_ws_client``, ``_ws_client`` and ``StreamAPIWS._client_id``;
and, to subscribe to screen shares mid-call, the subscription manager's
``_subscription_config``, ``_subscribed_track_details``,
``_generate_subscription_details_for_participants`` and ``_update_subscriptions`` (read
with ``getattr``: when they are missing nothing changes and the caller is told).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from getstream.video.rtc.connection_manager import ConnectionManager
from getstream.video.rtc.connection_utils import watch_call
from getstream.video.rtc.coordinator.ws import StreamAPIWS
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from getstream.video.rtc.tracks import SubscriptionConfig, TrackSubscriptionConfig
from loguru import logger

from pipecat_getstream.errors import GetstreamConnectionError

#: Coordinator events re-emitted on the manager as ``"coordinator_event"`` (the raw dict).
COORDINATOR_EVENTS = (
    "call.session_participant_left",
    "call.kicked_user",
    "call.blocked_user",
)


def subscription_config(audio: bool, video: bool, screen_share: bool = False) -> SubscriptionConfig:
    """Subscribe to the track types the pipeline consumes (the SDK default is none)."""
    types: list[int] = []
    if audio:
        types.append(models_pb2.TRACK_TYPE_AUDIO)
    if video:
        types.append(models_pb2.TRACK_TYPE_VIDEO)
    if screen_share:
        types.append(models_pb2.TRACK_TYPE_SCREEN_SHARE)
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
        user_name: The bot's display name, sent with the socket's user details.
        coordinator_events: The coordinator event types re-emitted as ``"coordinator_event"``.
        **kwargs: Passed to ``ConnectionManager``.

    """

    def __init__(
        self,
        *args: Any,
        coordinator_uri: str,
        user_token: str | None = None,
        user_name: str | None = None,
        coordinator_events: tuple[str, ...] = COORDINATOR_EVENTS,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self._coordinator_uri = coordinator_uri
        self._user_token = user_token
        self._user_name = user_name
        self._coordinator_events = coordinator_events

    async def _connect_coordinator_ws(self) -> None:
        ws_kwargs: dict[str, Any] = {"uri": self._coordinator_uri}
        if self._user_token is not None:
            ws_kwargs["user_token"] = self._user_token
        details: dict[str, Any] = {"id": self.user_id}
        if self._user_name:
            details["name"] = self._user_name
        client = StreamAPIWS(self.call, details, **ws_kwargs)
        self._coordinator_ws_client = client
        client.on("custom", functools.partial(self.emit, "custom"))
        for name in self._coordinator_events:
            client.on(name, functools.partial(self.emit, "coordinator_event"))
        await client.connect()
        client_id = getattr(client, "_client_id", None)
        if self.user_id is None or client_id is None:
            raise GetstreamConnectionError("coordinator socket connected without a client id")
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


async def subscribe_screen_shares(manager: ConnectionManager, config: SubscriptionConfig) -> bool:
    """Switch a joined manager to ``config`` and subscribe to screen shares already published.

    The SDK applies its subscription config only as tracks are published, and re-sends a
    cached list; this replaces the config (private ``_subscription_manager``), adds the
    screen shares of participants already in the call to the list, and re-sends it.

    Returns:
        ``False`` when the SDK's internals are not the expected ones (nothing changed).

    """
    subscriptions = getattr(manager, "_subscription_manager", None)
    details = getattr(subscriptions, "_subscribed_track_details", None)
    generate = getattr(subscriptions, "_generate_subscription_details_for_participants", None)
    update = getattr(subscriptions, "_update_subscriptions", None)
    if subscriptions is None or details is None or generate is None or update is None:
        return False
    subscriptions._subscription_config = config
    have = {(d.user_id, d.session_id, d.track_type) for d in details}
    for detail in generate():
        key = (detail.user_id, detail.session_id, detail.track_type)
        if detail.track_type == models_pb2.TRACK_TYPE_SCREEN_SHARE and key not in have:
            details.append(detail)
    try:
        await update()
    except Exception as exc:
        logger.warning(f"subscribing to screen shares failed: {exc!r}")
    return True
