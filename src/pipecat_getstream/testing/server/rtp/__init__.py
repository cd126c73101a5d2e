"""The forwarding plane: ICE, DTLS-SRTP transports, RTP rewriting, fan-out, transcoding.

Internal: not part of the public API (see :mod:`pipecat_getstream`); names here may change
between releases.
"""

__all__: list[str] = []
