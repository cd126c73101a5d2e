"""Pipecat wiring: the input and output processors, closed captions, frame compatibility.

Internal: not part of the public API (see :mod:`pipecat_getstream`); names here may change
between releases.
"""

__all__: list[str] = []
