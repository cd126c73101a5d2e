"""A Pipecat transport for GetStream.io WebRTC calls.

``GetstreamTransport`` puts a Pipecat pipeline into a GetStream video call;
``pipecat_getstream.testing.LocalStreamServer`` runs a GetStream-compatible server locally
for offline development and tests.
"""

from pipecat_getstream.errors import (
    GetstreamConfigError,
    GetstreamConnectionError,
    GetstreamError,
    GetstreamNotConnectedError,
)
from pipecat_getstream.params import GetstreamParams
from pipecat_getstream.transport import GetstreamTransport

__all__ = [
    "GetstreamConfigError",
    "GetstreamConnectionError",
    "GetstreamError",
    "GetstreamNotConnectedError",
    "GetstreamParams",
    "GetstreamTransport",
]
