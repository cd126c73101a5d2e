"""The local GetStream-compatible server: coordinator (REST and WebSocket), SFU, RTP plane.

Internal: not part of the public API (see :mod:`pipecat_getstream`); names here may change
between releases.
"""

__all__: list[str] = []
