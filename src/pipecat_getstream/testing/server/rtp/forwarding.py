"""Packet fan-out: one published track to every subscriber, without decoding.

A :class:`Forwarder` is one track a participant publishes. Each RTP packet it
receives is handed to one :class:`Sink` per subscriber, which rewrites the
header for that subscriber (``rtp_rewrite``), applies the subscriber's packet
faults, keeps the packet for retransmission and sends it on the subscriber's
transport. RTCP from a subscriber reaches its sink: keyframe requests (PLI,
FIR) are relayed to the publisher, NACKs answered from the sink's history.
A sink forwards nothing until the subscriber has answered an offer naming its SSRC, and a
new video sink nothing until a keyframe starts (it asks for one).

An audio track whose publisher negotiated RFC 2198 redundancy (RED) is unwrapped here, once
for all its sinks, before fan-out (:mod:`.red`): subscribers receive the plain Opus packets,
with frames lost on the way in recovered from the redundancy, in the publisher's numbering,
which each sink's rewriter then maps onto the subscriber's stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiortc import RTCRtpCodecParameters
from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtpPacket,
)

from pipecat_getstream.testing.server.faults import FaultState
from pipecat_getstream.testing.server.rtp.red import RedStats, RedUnwrapper
from pipecat_getstream.testing.server.rtp.rewrite import (
    PacketHistory,
    StreamRewriter,
    starts_keyframe,
)
from pipecat_getstream.testing.server.sfu.sdp import OfferSlot, codec_name

KEYFRAME_REQUEST_INTERVAL_S = 0.3


class PacketSender(Protocol):
    """Where a sink's packets go: the subscriber's transport."""

    user_id: str

    @property
    def is_connected(self) -> bool:
        """Whether packets can be sent now."""

    async def send(self, data: bytes) -> bool:
        """Send one serialized packet."""


class Forwarder:
    """One published track: counts its packets and fans them out to sinks.

    Args:
        kind: ``"audio"`` or ``"video"``.
        codec: The codec negotiated with the publisher.
        track_type: The SFU track type (``models_pb2.TrackType`` value).
        request_keyframe: Sends a PLI for the given publisher SSRC.
        red_payload_type: RED's payload type when the publisher sends this (Opus) track
            wrapped in RED (see :meth:`use_red`).

    """

    def __init__(
        self,
        kind: str,
        codec: RTCRtpCodecParameters,
        track_type: int,
        request_keyframe: Callable[[int], None],
        red_payload_type: int | None = None,
    ) -> None:
        self.kind = kind
        self.codec = codec
        self.codec_name = codec_name(codec)
        self.track_type = track_type
        self.packets = 0
        self.frames = 0
        self.ended = False
        self.sinks: list[Sink] = []
        #: A ``transcode.VideoBridge`` re-encoding this track, while one is needed.
        self.bridge: Any = None
        self._request_keyframe = request_keyframe
        #: Called with every packet received (the SFU's speaker detection).
        self.on_packet: Callable[[RtpPacket], None] | None = None
        self._source_ssrc: int | None = None
        self._last_request = 0.0
        self._red: RedUnwrapper | None = None
        self._red_stats: RedStats | None = None
        self.use_red(red_payload_type)

    @property
    def red_payload_type(self) -> int | None:
        """RED's payload type when the publisher negotiated RED for this track, else ``None``."""
        return self._red.red_payload_type if self._red is not None else None

    @property
    def red_stats(self) -> RedStats | None:
        """Counters of the RED unwrapping (``None`` when the track was never RED)."""
        return self._red_stats

    def use_red(self, payload_type: int | None) -> None:
        """Unwrap RED packets of ``payload_type`` from now on (``None``: RED is off).

        A renegotiation that keeps the same payload type keeps the unwrapper's state.
        """
        if payload_type is None:
            self._red = None
        elif self._red is None or self._red.red_payload_type != payload_type:
            primary = int(self.codec.payloadType or 0)
            # The counters run on across renegotiations.
            self._red = RedUnwrapper(payload_type, primary, self._red_stats)
            self._red_stats = self._red.stats

    def add_sink(self, sink: Sink) -> None:
        """Start feeding ``sink``; video sinks ask for a keyframe at once."""
        self.sinks.append(sink)
        if self.kind == "video":
            self.request_keyframe(force=True)

    def remove_sink(self, sink: Sink) -> None:
        """Stop feeding ``sink``."""
        if sink in self.sinks:
            self.sinks.remove(sink)

    def request_keyframe(self, force: bool = False) -> None:
        """Ask the publisher for a keyframe, at most every few hundred milliseconds."""
        now = time.monotonic()
        if self._source_ssrc is None or self.ended:
            return
        if not force and now - self._last_request < KEYFRAME_REQUEST_INTERVAL_S:
            return
        self._last_request = now
        self._request_keyframe(self._source_ssrc)

    async def handle(self, packet: RtpPacket) -> None:
        """Forward one packet from the publisher to every sink (unwrapped, if RED)."""
        if self._red is None:
            await self._forward(packet)
            return
        for opus in self._red.unwrap(packet):
            await self._forward(opus)

    async def _forward(self, packet: RtpPacket) -> None:
        self.packets += 1
        if self.on_packet is not None:
            self.on_packet(packet)
        if self.kind == "audio" or packet.marker:
            self.frames += 1
        first = self._source_ssrc is None
        self._source_ssrc = packet.ssrc
        if first and self.kind == "video" and self.sinks:
            self.request_keyframe(force=True)
        if not self.sinks:
            return
        keyframe = self.kind == "video" and starts_keyframe(self.codec_name, packet.payload)
        now = time.monotonic()
        for sink in list(self.sinks):
            await sink.forward(packet, now, keyframe)

    def stop(self) -> None:
        """Mark the track ended (its publisher left or replaced it)."""
        self.ended = True
        self.sinks.clear()
        bridge, self.bridge = self.bridge, None
        if bridge is not None:
            bridge.close()


class Sink:
    """One forwarded stream to one subscriber.

    Args:
        forwarder: The published track it carries.
        slot: The subscriber offer's media section for it (SSRC, payload type).
        sender: The subscriber's transport.
        faults: The server's fault settings (looked up per packet).

    """

    def __init__(
        self, forwarder: Forwarder, slot: OfferSlot, sender: PacketSender, faults: FaultState
    ) -> None:
        self.forwarder = forwarder
        self.slot = slot
        self.sent = 0
        self.retransmitted = 0
        self._sender = sender
        self._faults = faults
        self._rewriter = StreamRewriter(
            slot.ssrc, int(slot.codec.payloadType or 0), slot.codec.clockRate
        )
        self._history = PacketHistory()
        self._waiting_keyframe = forwarder.kind == "video"
        self._delayed: set[asyncio.Task[Any]] = set()
        #: Whether the subscriber has answered an offer holding this stream's section.
        self.negotiated = False

    async def forward(self, packet: RtpPacket, now: float, keyframe: bool) -> None:
        """Rewrite and send one publisher packet (or hold it back, see the module doc)."""
        if not self.negotiated or not self._sender.is_connected:
            # Before the answer the subscriber does not know this SSRC: its SDK would
            # route the packets by payload type, to another track of the same codec.
            return
        if self._waiting_keyframe:
            if not keyframe:
                self.forwarder.request_keyframe()
                return
            self._waiting_keyframe = False
        out = self._rewriter.rewrite(packet, now)
        data = out.serialize()
        self._history.add(out.sequence_number, data)
        faults = self._faults.media_for(self._sender.user_id)
        if faults.active:
            if self._faults.should_drop(faults):
                return
            if faults.delay_ms > 0:
                self._later(faults.delay_ms / 1000.0, self._sender.send(data))
                return
        if await self._sender.send(data):
            self.sent += 1

    def _later(self, delay: float, send: Awaitable[bool]) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            if await send:
                self.sent += 1

        task = asyncio.ensure_future(run())
        self._delayed.add(task)
        task.add_done_callback(self._delayed.discard)

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        """RTCP about this stream from the subscriber (routed here by aiortc)."""
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            self.forwarder.request_keyframe()
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            for seq in packet.lost:
                data = self._history.get(seq)
                if data is not None and await self._sender.send(data):
                    self.retransmitted += 1

    def close(self) -> None:
        """Stop sending, including packets held back by a delay fault."""
        self.forwarder.remove_sink(self)
        for task in list(self._delayed):
            task.cancel()
