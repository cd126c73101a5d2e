"""The coordinator: REST routes under ``/api/v2``, its WebSocket, the JSON it speaks.

Internal: not part of the public API (see :mod:`pipecat_getstream`); names here may change
between releases.
"""

__all__: list[str] = []
