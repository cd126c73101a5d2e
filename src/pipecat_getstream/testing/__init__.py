"""A local GetStream-compatible server for offline runs and tests.

``LocalStreamServer`` stands in for GetStream's cloud (coordinator and SFU):
the unmodified GetStream SDK joins calls on it, exchanges audio and video,
custom events and participant events, all on the local machine.
It shares no code with the transport.
"""

from pipecat_getstream.testing.server import LocalStreamServer

__all__ = ["LocalStreamServer"]
