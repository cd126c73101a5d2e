"""The SFU: sessions, signaling (WebSocket and Twirp), SDP, publisher and subscriber links.

Internal: not part of the public API (see :mod:`pipecat_getstream`); names here may change
between releases.
"""

__all__: list[str] = []
