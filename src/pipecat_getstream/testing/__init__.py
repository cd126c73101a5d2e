"""A local GetStream-compatible server, and simulated participants, for offline runs and tests.

``LocalStreamServer`` stands in for GetStream's cloud (coordinator and SFU): the
unmodified GetStream SDK joins calls on it and exchanges audio, video, custom events and
participant events, all on the local machine. The server shares no code with the
transport.

``SimulatedParticipant`` is a real SDK user in such a call, for testing an agent: it
speaks, listens, shows video and sends events (:mod:`pipecat_getstream.testing.signals`
has the tones and measurements). On SDK 3.x-6.x it joins through the transport's routed
``ConnectionManager``; on 7.x through ``getstream_rtc`` directly. The pytest plugin
(:mod:`pipecat_getstream.testing.pytest_plugin`) offers both as fixtures.

Both names are imported on first use: pytest imports this package whenever it loads the
plugin, and that must not cost a user's test run the server and the SDK.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipecat_getstream.testing.kit.participant import SimulatedParticipant
    from pipecat_getstream.testing.server.local_server import LocalStreamServer

__all__ = ["LocalStreamServer", "SimulatedParticipant"]


def __getattr__(name: str) -> Any:
    """Import ``LocalStreamServer`` and ``SimulatedParticipant`` when first asked for."""
    if name == "LocalStreamServer":  # aiohttp, aiortc and the whole server
        from pipecat_getstream.testing.server.local_server import LocalStreamServer

        return LocalStreamServer
    if name == "SimulatedParticipant":  # the SDK and its media stack
        from pipecat_getstream.testing.kit.participant import SimulatedParticipant

        return SimulatedParticipant
    raise AttributeError(f"module 'pipecat_getstream.testing' has no attribute {name!r}")
