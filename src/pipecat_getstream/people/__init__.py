"""Who is in the call: the participant registry, participant details, departure reasons.

Internal: not part of the public API (see :mod:`pipecat_getstream`); names here may change
between releases.
"""

__all__: list[str] = []
