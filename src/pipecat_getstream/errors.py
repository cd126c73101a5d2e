"""Exceptions raised by pipecat-getstream."""

from __future__ import annotations


class GetstreamError(Exception):
    """Base class of every error raised by this package."""


class GetstreamConfigError(GetstreamError, ValueError):
    """A constructor argument or parameter is invalid (raised before any network call)."""


class GetstreamConnectionError(GetstreamError, ConnectionError):
    """Joining, reaching or staying in the GetStream call failed."""


class GetstreamNotConnectedError(GetstreamError, RuntimeError):
    """An operation needs a joined call, but the transport is not connected."""
