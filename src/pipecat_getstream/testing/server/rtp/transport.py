"""One bundled ICE + DTLS-SRTP transport of the forwarding SFU.

Each participant has two of these: its publisher connection and its
subscriber connection. The SFU writes its own SDP (see ``sdp_media``) and uses
aiortc only for the transport layers, never for codecs:

- ``aiortc.RTCIceGatherer`` / ``RTCIceTransport`` (ICE over aioice), with the
  gatherer's aioice ``Connection`` made to gather one loopback host candidate
  (``ice.force_gatherer_host``) and its ``ice_controlling`` flag and
  ``RTCIceTransport._role_set`` set the way aiortc's peer connection sets them;
- ``aiortc.RTCDtlsTransport`` for the DTLS handshake and SRTP keys. The SFU
  relies on these of its internals (present from aiortc 1.9 to 1.14):
  ``_set_role``, ``_rtp_router`` (``register_receiver``, ``register_sender``,
  ``unregister_receiver``, ``unregister_sender``), and ``_send_rtp``, which
  SRTP-protects a serialized RTP or RTCP packet and sends it. Packets it
  receives are unprotected, parsed and routed by aiortc to the objects
  registered here, through their ``_handle_rtp_packet``,
  ``_handle_rtcp_packet`` and ``_handle_disconnect`` methods.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiortc import (
    RTCCertificate,
    RTCDtlsParameters,
    RTCDtlsTransport,
    RTCIceCandidate,
    RTCIceGatherer,
    RTCIceParameters,
    RTCIceTransport,
)
from aiortc.sdp import MediaDescription
from loguru import logger

from pipecat_getstream.testing.server.rtp.ice import force_gatherer_host

DISCARD_HOST = "0.0.0.0"
DISCARD_PORT = 9


class RtpTransport:
    """A bundled ICE + DTLS-SRTP transport the SFU sends and receives RTP on.

    Args:
        host: The address of the server's ICE host candidate.
        certificate: The DTLS certificate (shared by all of the server's transports).
        name: A label for logs.

    """

    def __init__(self, host: str, certificate: RTCCertificate, name: str) -> None:
        self.name = name
        self.gatherer = RTCIceGatherer(iceServers=[])
        force_gatherer_host(self.gatherer, host)
        self.ice = RTCIceTransport(self.gatherer)
        self.dtls = RTCDtlsTransport(self.ice, [certificate])
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.connected = asyncio.Event()

    async def gather(self) -> None:
        """Gather the local candidate (once)."""
        await self.gatherer.gather()

    def describe(self, media: MediaDescription, setup: str) -> None:
        """Fill a media section's ICE, candidate and DTLS lines.

        Args:
            media: The section to fill.
            setup: The DTLS role as aiortc spells it: ``"auto"`` (actpass, offers),
                ``"client"`` (active) or ``"server"`` (passive).

        """
        media.ice = self.gatherer.getLocalParameters()
        media.ice_candidates = self.gatherer.getLocalCandidates()
        media.ice_candidates_complete = True
        if media.ice_candidates and media.port != 0:
            media.host = media.ice_candidates[0].ip
            media.port = media.ice_candidates[0].port
        else:
            media.host = DISCARD_HOST
        media.rtcp_host, media.rtcp_port, media.rtcp_mux = DISCARD_HOST, DISCARD_PORT, True
        media.dtls = RTCDtlsParameters(
            fingerprints=self.dtls.getLocalParameters().fingerprints, role=setup
        )

    def set_ice_role(self, controlling: bool) -> None:
        """Fix this side's ICE role (once), before the peer can start its checks.

        The offerer controls; set it before the offer is sent, or the peer's
        first checks meet a role conflict that can leave ICE unfinished.
        """
        if not self.ice._role_set:
            self.ice._connection.ice_controlling = controlling
            self.ice._role_set = True

    def start(
        self,
        remote_ice: RTCIceParameters,
        remote_dtls: RTCDtlsParameters,
        candidates: list[RTCIceCandidate],
        *,
        controlling: bool,
        dtls_role: str,
    ) -> None:
        """Start connecting to the remote peer in the background (once).

        Args:
            remote_ice: The peer's ICE username fragment and password.
            remote_dtls: The peer's DTLS fingerprints.
            candidates: Candidates from the peer's SDP.
            controlling: Whether this side is the ICE controlling agent.
            dtls_role: ``"client"`` or ``"server"``: this side's DTLS role.

        """
        if self._task is not None or self._closed:
            return
        self.set_ice_role(controlling)
        self.dtls._set_role(dtls_role)
        self._task = asyncio.ensure_future(self._connect(remote_ice, remote_dtls, candidates))

    async def _connect(
        self,
        remote_ice: RTCIceParameters,
        remote_dtls: RTCDtlsParameters,
        candidates: list[RTCIceCandidate],
    ) -> None:
        try:
            for candidate in candidates:
                await self.ice.addRemoteCandidate(candidate)
            await self.ice.start(remote_ice)
            if self.ice.state != "completed":
                raise ConnectionError(f"ICE {self.ice.state}")
            await self.dtls.start(remote_dtls)
            if self.dtls.state != "connected":
                raise ConnectionError(f"DTLS {self.dtls.state}")
            self.connected.set()
            logger.debug("SFU media: {} connected", self.name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not self._closed:
                logger.warning("SFU media: {} failed to connect: {}", self.name, exc)

    async def add_candidate(self, candidate: RTCIceCandidate | None) -> None:
        """Add a candidate the peer trickled (``None``: end of candidates)."""
        if not self._closed:
            await self.ice.addRemoteCandidate(candidate)

    @property
    def is_connected(self) -> bool:
        """Whether SRTP is up and packets can be sent."""
        return self.connected.is_set() and self.dtls.state == "connected"

    async def send(self, data: bytes) -> bool:
        """SRTP-protect and send one serialized RTP or RTCP packet.

        Returns:
            ``False`` when the transport is not (or no longer) connected.

        """
        if not self.is_connected:
            return False
        try:
            await self.dtls._send_rtp(data)
            return True
        except ConnectionError:
            return False

    def register_receiver(self, receiver: Any, ssrcs: list[int], payload_types: list[int]) -> None:
        """Route incoming RTP with these SSRCs or payload types to ``receiver``."""
        router = self.dtls._rtp_router
        router.unregister_receiver(receiver)
        router.register_receiver(receiver, ssrcs=ssrcs, payload_types=payload_types)

    def register_sender(self, sender: Any, ssrc: int) -> None:
        """Route incoming RTCP about the outgoing stream ``ssrc`` to ``sender``."""
        self.dtls._rtp_router.register_sender(sender, ssrc=ssrc)

    def unregister_sender(self, sender: Any) -> None:
        """Stop routing RTCP to ``sender``."""
        self.dtls._rtp_router.unregister_sender(sender)

    async def close(self) -> None:
        """Stop DTLS and ICE (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        with contextlib.suppress(Exception):
            await self.dtls.stop()
        with contextlib.suppress(Exception):
            await self.ice.stop()
