"""A Pipecat transport for GetStream.io WebRTC calls.

``GetstreamTransport`` puts a Pipecat pipeline into a GetStream video call;
``pipecat_getstream.testing.LocalStreamServer`` runs a GetStream-compatible server locally
for offline development and tests.

The transport classes are imported lazily, so ``python -m pipecat_getstream.testing`` does
not pay for importing Pipecat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipecat_getstream.errors import (
    GetstreamConfigError,
    GetstreamConnectionError,
    GetstreamError,
    GetstreamJoinError,
    GetstreamNotConnectedError,
)

if TYPE_CHECKING:
    from pipecat_getstream.params import GetstreamParams
    from pipecat_getstream.people.participant_info import ParticipantInfo
    from pipecat_getstream.transport import GetstreamTransport

__all__ = [
    "GetstreamConfigError",
    "GetstreamConnectionError",
    "GetstreamError",
    "GetstreamJoinError",
    "GetstreamNotConnectedError",
    "GetstreamParams",
    "GetstreamTransport",
    "ParticipantInfo",
]


def __getattr__(name: str) -> Any:
    if name == "GetstreamTransport":
        from pipecat_getstream.transport import GetstreamTransport

        return GetstreamTransport
    if name == "GetstreamParams":
        from pipecat_getstream.params import GetstreamParams

        return GetstreamParams
    if name == "ParticipantInfo":
        from pipecat_getstream.people.participant_info import ParticipantInfo

        return ParticipantInfo
    raise AttributeError(f"module 'pipecat_getstream' has no attribute {name!r}")
