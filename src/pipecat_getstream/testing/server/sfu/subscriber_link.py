"""The SFU's subscriber connection (media out) to one participant.

The server is the offerer: each forwarded track gets a media section in its publisher's
codec, with an SSRC of its own, named as GetStream's cloud names it
(:mod:`pipecat_getstream.testing.server.sfu.naming`). A track's
packets flow only once the participant has answered an offer holding its section.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable

from aiortc import RTCCertificate, RTCIceCandidate
from aiortc.sdp import SessionDescription
from loguru import logger

from pipecat_getstream.testing.server.faults import FaultState
from pipecat_getstream.testing.server.rtp.forwarding import Forwarder, Sink
from pipecat_getstream.testing.server.rtp.transcode import bridge_for, close_bridge
from pipecat_getstream.testing.server.rtp.transport import RtpTransport
from pipecat_getstream.testing.server.sfu import naming
from pipecat_getstream.testing.server.sfu.publisher_link import (
    SubscriptionKey,
    Wanted,
    remote_transport,
)
from pipecat_getstream.testing.server.sfu.sdp import (
    OfferSlot,
    PayloadTypes,
    build_offer,
    new_session_id,
)


class SubscriberLink:
    """The server side of a participant's subscriber connection.

    The server is the offerer: whenever forwarded tracks change it sends a
    ``subscriber_offer`` and waits for ``SendAnswer`` before offering again.

    Args:
        host: The address of the server's ICE candidate.
        certificate: The server's DTLS certificate.
        user_id: The subscribing user (packet faults are looked up by it).
        send_offer: Sends an offer SDP to the participant; returns ``False``
            when the participant's socket is down (the offer is re-sent on reconnect).
        faults: The server's fault settings.
        receive_codecs: Codec names the participant can receive (``None``: all).

    """

    def __init__(
        self,
        host: str,
        certificate: RTCCertificate,
        user_id: str,
        send_offer: Callable[[str], Awaitable[bool]],
        faults: FaultState,
        receive_codecs: set[str] | None = None,
    ) -> None:
        self.user_id = user_id
        self.transport = RtpTransport(host, certificate, f"{user_id} subscriber")
        self._send_offer = send_offer
        self._faults = faults
        self._receive_codecs = receive_codecs
        self._lock = asyncio.Lock()
        self._slots: list[OfferSlot] = []
        self._sinks: dict[SubscriptionKey, Sink] = {}
        self._sources: dict[SubscriptionKey, Forwarder] = {}
        self._payload_types = PayloadTypes()
        self._session_id = new_session_id()
        self._version = 0
        self._awaiting_answer = False
        self._offered: list[Sink] = []
        self._offer_sdp = ""
        self._dirty = False
        self._skipped: set[tuple[SubscriptionKey, str]] = set()
        self.offers_sent = 0

    @property
    def is_connected(self) -> bool:
        """Whether forwarded packets can be sent."""
        return self.transport.is_connected

    async def send(self, data: bytes) -> bool:
        """Send one serialized packet to the participant."""
        return await self.transport.send(data)

    @property
    def forwarded(self) -> dict[SubscriptionKey, str]:
        """Track ids currently forwarded, by ``(publisher session id, track type)``."""
        return {key: sink.slot.track_id for key, sink in self._sinks.items()}

    @property
    def sinks(self) -> dict[SubscriptionKey, Sink]:
        """The forwarded streams, by ``(publisher session id, track type)``."""
        return dict(self._sinks)

    async def sync(self, wanted_fn: Callable[[], Wanted]) -> None:
        """Forward exactly the wanted tracks, then offer if anything changed.

        Args:
            wanted_fn: Returns the wanted tracks (forwarder and the publisher's
                track lookup prefix by key); called under the link's lock.

        """
        async with self._lock:
            wanted = wanted_fn()
            changed = False
            for key, sink in list(self._sinks.items()):
                want = wanted.get(key)
                if want is None or want[0] is not self._sources.get(key) or sink.forwarder.ended:
                    self._end(key, sink)
                    changed = True
            for key, (forwarder, prefix) in wanted.items():
                if key in self._sinks or forwarder.ended:
                    continue
                target = self._receivable(key, forwarder)
                if target is None:
                    continue
                self._sources[key] = forwarder
                self._add(key, target, prefix)
                changed = True
            if changed:
                await self._negotiate()

    def _receivable(self, key: SubscriptionKey, forwarder: Forwarder) -> Forwarder | None:
        """The track itself, its VP8 re-encoding, or ``None`` if the SDK can take neither."""
        codecs = self._receive_codecs
        if codecs is None or forwarder.codec_name in codecs:
            return forwarder
        if forwarder.kind == "video" and "vp8" in codecs:
            return bridge_for(forwarder)
        if (key, forwarder.codec_name) not in self._skipped:
            self._skipped.add((key, forwarder.codec_name))
            logger.warning(
                "SFU: {} cannot receive {} (its SDK offered {}); track not forwarded",
                self.user_id,
                forwarder.codec_name,
                sorted(codecs),
            )
        return None

    def _add(self, key: SubscriptionKey, forwarder: Forwarder, prefix: str) -> None:
        slot = OfferSlot(
            mid=str(len(self._slots)),
            kind=forwarder.kind,
            codec=self._payload_types.assign(forwarder.kind, forwarder.codec),
            ssrc=secrets.randbits(32) or 1,
            stream_id=naming.stream_id(prefix, forwarder.track_type),
            track_id=naming.track_id(),
        )
        self._slots.append(slot)
        sink = Sink(forwarder, slot, self, self._faults)
        self._sinks[key] = sink
        self.transport.register_sender(sink, slot.ssrc)
        forwarder.add_sink(sink)

    def _end(self, key: SubscriptionKey, sink: Sink) -> None:
        sink.close()
        sink.slot.active = False
        self.transport.unregister_sender(sink)
        del self._sinks[key]
        source = self._sources.pop(key, None)
        if source is not None and sink.forwarder is not source and not sink.forwarder.sinks:
            close_bridge(source)  # nobody needs the re-encoded version any more

    async def _negotiate(self) -> None:
        if self._awaiting_answer:
            self._dirty = True
            return
        self._dirty = False
        await self.transport.gather()
        self.transport.set_ice_role(controlling=True)
        self._version += 1
        self._offer_sdp = build_offer(self._slots, self.transport, self._version, self._session_id)
        self._awaiting_answer = True
        self._offered = list(self._sinks.values())
        await self._offer()

    async def _offer(self) -> None:
        if await self._send_offer(self._offer_sdp):
            self.offers_sent += 1
            logger.debug(
                "SFU: offer {} to {} ({} tracks)", self._version, self.user_id, len(self._sinks)
            )

    async def on_answer(self, sdp: str) -> None:
        """Apply the participant's answer, then offer again if more changed meanwhile."""
        async with self._lock:
            if not self._awaiting_answer:
                logger.debug("SFU: subscriber answer from {} ignored (no offer)", self.user_id)
                return
            self._awaiting_answer = False
            logger.debug("SFU: answer {} from {}", self._version, self.user_id)
            answer = SessionDescription.parse(sdp)
            ice, dtls, candidates = remote_transport(answer)
            role = "client" if dtls.role == "server" else "server"
            self.transport.start(ice, dtls, candidates, controlling=True, dtls_role=role)
            for sink in self._offered:
                sink.negotiated = True
            self._offered = []
            if self._dirty:
                await self._negotiate()

    async def resend_pending(self) -> None:
        """Re-send an unanswered offer, or send one for changes made while offline."""
        async with self._lock:
            if self._awaiting_answer:
                await self._offer()
            elif self._dirty:
                await self._negotiate()

    async def add_candidate(self, candidate: RTCIceCandidate) -> None:
        """Add a trickled remote candidate."""
        await self.transport.add_candidate(candidate)

    async def close(self) -> None:
        """Stop every forwarded stream and close the connection."""
        for key, sink in list(self._sinks.items()):
            self._end(key, sink)
        await self.transport.close()
