"""Loopback-only ICE for the server's own peer connections.

aioice leaves 127.0.0.1 out of its host candidates, so on a machine whose
only address is loopback an aiortc peer gathers nothing. The server replaces
candidate gathering on the ICE agents of *its own* transports (one instance
at a time, never the module) so they offer exactly one host
candidate on the loopback address. The SDK, unmodified, keeps gathering its
usual host candidates and reaches that address from them.
"""

from __future__ import annotations

from typing import Any

from aiortc import RTCIceGatherer
from loguru import logger

_MARK = "_lss_loopback_host"


def force_gatherer_host(gatherer: RTCIceGatherer, host: str) -> None:
    """Make an ICE gatherer owned by the server gather one host candidate on ``host``.

    Call it before ``gather()``; a gatherer that already gathered is left alone.

    Args:
        gatherer: A gatherer of one of the server's own transports.
        host: The IP address to bind, e.g. ``"127.0.0.1"``.

    """
    _patch_connection(getattr(gatherer, "_connection", None), host)


def _patch_connection(conn: Any, host: str) -> None:
    if conn is None or getattr(conn, _MARK, None) == host:
        return
    needed = ("_local_candidates_start", "_local_candidates", "_components")
    if not all(hasattr(conn, name) for name in needed) or not hasattr(
        conn, "get_component_candidates"
    ):
        logger.warning("aioice internals changed; server keeps default ICE gathering")
        return
    if conn._local_candidates_start:
        return

    async def gather_candidates() -> None:
        if conn._local_candidates_start:
            return
        conn._local_candidates_start = True
        for component in sorted(conn._components):
            conn._local_candidates += await conn.get_component_candidates(
                component=component, addresses=[host]
            )
        conn._local_candidates_end = True

    conn.gather_candidates = gather_candidates
    setattr(conn, _MARK, host)
