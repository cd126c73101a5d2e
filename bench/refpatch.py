"""Aim the reference package's SDK at the local server (reference bot process only).

The reference ``pipecat-getstream`` builds ``AsyncStream(api_key, api_secret)`` with the SDK's
default (cloud) base URL and lets the SDK open its coordinator WebSocket at the hard-coded
cloud address. In the benchmark's reference bot process only, both are redirected to the
local server. Nothing here is imported by the project under test.
"""

from __future__ import annotations

import functools
from typing import Any


def keep_network_checks_local(host: str = "127.0.0.1") -> None:
    """Make the SDK's NetworkMonitor ping ``host`` instead of public DNS resolvers.

    The monitor only runs when a ConnectionManager is entered as a context manager (the
    reference does that); this keeps every benchmark packet on this machine.
    """
    try:
        from getstream.video.rtc.network_monitor import NetworkMonitor
    except ImportError:  # SDK 7.x has no NetworkMonitor (its Rust core pings nothing)
        return

    original = NetworkMonitor.__init__

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.connectivity_hosts = [host]

    NetworkMonitor.__init__ = init  # type: ignore[method-assign]


def point_reference_at(base_url: str) -> None:
    """Redirect the reference transport's REST client and coordinator socket to ``base_url``."""
    from getstream import AsyncStream
    from getstream.video.rtc import connection_manager
    from getstream.video.rtc.coordinator.ws import StreamAPIWS

    import pipecat_getstream.transport as ref_transport

    def local_client(*args: Any, **kwargs: Any) -> AsyncStream:
        kwargs["base_url"] = base_url
        return AsyncStream(*args, **kwargs)

    ws_uri = base_url.replace("https://", "wss://").replace("http://", "ws://") + "/api/v2/connect"

    class LocalStreamAPIWS(StreamAPIWS):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["uri"] = ws_uri
            super().__init__(*args, **kwargs)

    ref_transport.AsyncStream = local_client  # type: ignore[attr-defined]
    connection_manager.StreamAPIWS = LocalStreamAPIWS  # type: ignore[attr-defined]
