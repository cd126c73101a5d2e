"""One call's client: join and leave, retries, event dispatch, custom events, validation, redaction.

Internal: not part of the public API (see :mod:`pipecat_getstream`); names here may change
between releases.
"""

__all__: list[str] = []
