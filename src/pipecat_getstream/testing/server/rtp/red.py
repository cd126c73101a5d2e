"""RFC 2198 redundant audio (RED): parsing, and turning a RED stream back into Opus.

A publisher that negotiated RED (see :mod:`pipecat_getstream.testing.server.sfu.sdp`)
sends each Opus frame inside a RED payload together with copies of the frames before it:

* a 4-byte header per redundant block: ``F`` (1, more headers follow), the block's payload
  type (7 bits), its timestamp offset below the packet's timestamp (14 bits) and its length
  in bytes (10 bits);
* a 1-byte header for the final, primary block: ``F`` (0) and its payload type;
* then the blocks' data in the headers' order (oldest redundant block first, primary last;
  the primary's length is whatever is left).

Subscribers are offered plain Opus, so the SFU unwraps RED once per published track, before
fan-out (:class:`~pipecat_getstream.testing.server.rtp.forwarding.Forwarder`), keeping the
publisher's sequence numbers and timestamps: each subscriber's
:class:`~pipecat_getstream.testing.server.rtp.rewrite.StreamRewriter` then maps the unwrapped
stream like any other. When packets were lost (a sequence gap), the redundant blocks of the
next packet fill the gap: the newest block is the packet just before it (the sender copies
its previous frames, one per packet), so it gets the sequence number one lower, the next
newest two lower, and so on, as far as the gap goes and only while a block is newer than
the last frame forwarded. Gaps the redundancy does not cover stay gaps. A packet that cannot
be parsed, or carries no Opus primary, is dropped (debug log, counted).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from aiortc.rtp import RtpPacket
from loguru import logger

from pipecat_getstream.testing.server.rtp.rewrite import SEQ_MOD, TS_MOD, seq_newer

#: Sequence numbers of recovered frames remembered, to drop their late originals.
RECOVERED_MEMORY = 64


class RedError(ValueError):
    """A RED payload whose headers or block lengths do not fit the packet."""


@dataclass(frozen=True)
class RedBlock:
    """One block of a RED payload.

    Attributes:
        payload_type: The block's payload type (the encapsulated codec's).
        timestamp_offset: How far the block's timestamp lies below the packet's (0 for
            the primary block).
        payload: The block's data.

    """

    payload_type: int
    timestamp_offset: int
    payload: bytes


@dataclass
class RedStats:
    """Counters of one track's RED unwrapping.

    Attributes:
        packets: RED packets unwrapped (their primary Opus frame forwarded).
        recovered: Lost frames recovered from the redundant blocks of later packets.
        dropped: RED packets dropped: malformed, or without an Opus primary frame.
        duplicates: Late packets dropped because their frame had been recovered already.

    """

    packets: int = 0
    recovered: int = 0
    dropped: int = 0
    duplicates: int = 0


def parse_red(payload: bytes) -> tuple[list[RedBlock], RedBlock]:
    """Split a RED payload into its blocks.

    Args:
        payload: The RTP payload of a RED packet.

    Returns:
        The redundant blocks (oldest first) and the primary block.

    Raises:
        RedError: When a header is cut short or the blocks' lengths exceed the payload.

    """
    headers: list[tuple[int, int, int]] = []
    pos = 0
    while True:
        if pos >= len(payload):
            raise RedError(f"RED header cut short at byte {pos} of {len(payload)}")
        if not payload[pos] & 0x80:
            primary_type = payload[pos] & 0x7F
            pos += 1
            break
        if pos + 4 > len(payload):
            raise RedError(f"RED block header cut short at byte {pos} of {len(payload)}")
        word = int.from_bytes(payload[pos : pos + 4], "big")
        headers.append(((word >> 24) & 0x7F, (word >> 10) & 0x3FFF, word & 0x3FF))
        pos += 4
    blocks = []
    for payload_type, offset, length in headers:
        if pos + length > len(payload):
            raise RedError(
                f"RED block of {length} bytes at byte {pos} overruns {len(payload)} bytes"
            )
        blocks.append(RedBlock(payload_type, offset, payload[pos : pos + length]))
        pos += length
    return blocks, RedBlock(primary_type, 0, payload[pos:])


def build_red(primary: RedBlock, redundant: list[RedBlock] | None = None) -> bytes:
    """Encode a RED payload (the inverse of :func:`parse_red`; tests and tools use it).

    Args:
        primary: The primary block (its offset is ignored).
        redundant: The redundant blocks, oldest first.

    Raises:
        RedError: When an offset or a length does not fit its header field.

    """
    head = bytearray()
    body = bytearray()
    for block in redundant or []:
        if not 0 <= block.timestamp_offset < 1 << 14 or len(block.payload) >= 1 << 10:
            raise RedError("RED block offset or length out of range")
        word = (
            (1 << 31)
            | (block.payload_type & 0x7F) << 24
            | block.timestamp_offset << 10
            | len(block.payload)
        )
        head += word.to_bytes(4, "big")
        body += block.payload
    head.append(primary.payload_type & 0x7F)
    return bytes(head + body + primary.payload)


def _ts_newer(a: int, b: int) -> bool:
    return a != b and ((a - b) % TS_MOD) < TS_MOD // 2


class RedUnwrapper:
    """Turns one publisher track's RED packets into the Opus packets they carry.

    Args:
        red_payload_type: RED's payload type, negotiated with the publisher.
        primary_payload_type: The Opus payload type (unwrapped packets carry it).
        stats: Counters to continue (a new set when ``None``).

    """

    def __init__(
        self, red_payload_type: int, primary_payload_type: int, stats: RedStats | None = None
    ) -> None:
        self.red_payload_type = red_payload_type
        self.primary_payload_type = primary_payload_type
        self.stats = stats if stats is not None else RedStats()
        self._ssrc: int | None = None
        self._last_seq = 0
        self._last_ts = 0
        self._recovered: deque[int] = deque(maxlen=RECOVERED_MEMORY)

    def unwrap(self, packet: RtpPacket) -> list[RtpPacket]:
        """The Opus packets to forward for one received packet, oldest first.

        A packet of another payload type (plain Opus) passes unchanged.
        """
        if packet.payload_type != self.red_payload_type:
            self._advance(packet)
            return [packet]
        try:
            redundant, primary = parse_red(packet.payload)
        except RedError as exc:
            return self._drop(packet, str(exc))
        if primary.payload_type != self.primary_payload_type or not primary.payload:
            reason = f"no primary frame (primary block: type {primary.payload_type}, "
            return self._drop(packet, f"{reason}{len(primary.payload)} bytes)")
        self.stats.packets += 1
        seq = packet.sequence_number
        if self._ssrc == packet.ssrc and not seq_newer(seq, self._last_seq):
            if seq in self._recovered:
                self.stats.duplicates += 1
                return []
            return [self._opus(packet, seq, packet.timestamp, primary.payload, packet.marker)]
        out = self._recover(packet, redundant) if self._ssrc == packet.ssrc else []
        out.append(self._opus(packet, seq, packet.timestamp, primary.payload, packet.marker))
        self._advance(packet)
        return out

    def _recover(self, packet: RtpPacket, redundant: list[RedBlock]) -> list[RtpPacket]:
        missing = (packet.sequence_number - self._last_seq - 1) % SEQ_MOD
        recovered: list[RtpPacket] = []
        for back, block in enumerate(reversed(redundant), start=1):
            if back > missing:
                break
            ts = (packet.timestamp - block.timestamp_offset) % TS_MOD
            if not _ts_newer(ts, self._last_ts) or not _ts_newer(packet.timestamp, ts):
                break  # forwarded already, or not a frame before this one
            if block.payload_type != self.primary_payload_type or not block.payload:
                continue
            seq = (packet.sequence_number - back) % SEQ_MOD
            recovered.append(self._opus(packet, seq, ts, block.payload, False))
            self._recovered.append(seq)
        self.stats.recovered += len(recovered)
        recovered.reverse()
        return recovered

    def _advance(self, packet: RtpPacket) -> None:
        if self._ssrc != packet.ssrc:
            self._ssrc = packet.ssrc
            self._recovered.clear()
        elif not seq_newer(packet.sequence_number, self._last_seq):
            return
        self._last_seq = packet.sequence_number
        self._last_ts = packet.timestamp

    def _drop(self, packet: RtpPacket, reason: str) -> list[RtpPacket]:
        self.stats.dropped += 1
        logger.debug(
            "SFU: RED packet {} of SSRC {} dropped ({}; {} dropped so far)",
            packet.sequence_number,
            packet.ssrc,
            reason,
            self.stats.dropped,
        )
        return []

    def _opus(self, packet: RtpPacket, seq: int, ts: int, payload: bytes, marker: int) -> RtpPacket:
        out = RtpPacket(
            payload_type=self.primary_payload_type,
            marker=marker,
            sequence_number=seq,
            timestamp=ts,
            ssrc=packet.ssrc,
            payload=payload,
        )
        out.csrc = list(packet.csrc)
        return out
