"""SDK ``ConnectionManager`` variants for the server's own tests of the SDKs' Python layer.

The transport and :class:`~pipecat_getstream.testing.SimulatedParticipant` need none of
these (3.x-6.x use :class:`~pipecat_getstream.stacks.aiortc.sdk.RoutedConnectionManager`;
7.x ``getstream_rtc`` directly). They exist so that tests can also drive the SDK's own
``ConnectionManager`` against a local server:

* on 7.x, :class:`RoutedConnectionManager7`: the 7.x manager builds its
  ``getstream_rtc.Client`` from the REST client but passes no ``ws_url``, so its Rust core
  would dial the cloud's coordinator. This subclass rebuilds that client with ``ws_url``
  before anything is joined; the rest is the stock SDK.
* on 3.x-6.x, :class:`NoCoordinatorManager`: a manager that opens no coordinator socket at
  all (joins the SFU only, as an SDK without custom events would).

Only the classes of the installed SDK generation are defined.
"""

from __future__ import annotations

from typing import Any

from getstream.video.rtc.connection_manager import ConnectionManager

from pipecat_getstream.stacks import stack_name

if stack_name() == "rust":
    import getstream_rtc

    class RoutedConnectionManager7(ConnectionManager):
        """The 7.x ConnectionManager with its Rust core's coordinator socket on ``coordinator_uri``.

        Args:
            *args: Passed to ``ConnectionManager``.
            coordinator_uri: The coordinator WebSocket URL.
            **kwargs: Passed to ``ConnectionManager``.

        """

        def __init__(self, *args: Any, coordinator_uri: str, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            stream = self.call.client.stream
            credentials: dict[str, Any] = (
                {"api_secret": stream.api_secret}
                if stream.has_api_secret
                else {"token": stream.token}
            )
            client = getstream_rtc.Client(
                stream.api_key,
                **credentials,
                base_url=stream.base_url,
                ws_url=coordinator_uri,
                call_event_capacity=1024,
            )
            self._rust_call = client.call(self.call.call_type, self.call.id)

else:
    from pipecat_getstream.stacks.aiortc.sdk import RoutedConnectionManager

    class NoCoordinatorManager(RoutedConnectionManager):
        """A 3.x-6.x ConnectionManager that opens no coordinator socket (SFU only)."""

        async def _connect_coordinator_ws(self) -> None:
            return None
