"""RTP header rewriting and keyframe detection for the forwarding SFU.

Pure packet logic with no I/O, so it is tested exactly. A forwarded packet
keeps its payload byte for byte; only its header changes: the SSRC and
payload type become the subscriber's, and sequence numbers and timestamps are
shifted so that each subscriber sees one continuous stream even when the
publisher's stream restarts (a new SSRC after a reconnect).
"""

from __future__ import annotations

import random

from aiortc.rtp import RtpPacket

SEQ_MOD = 1 << 16
TS_MOD = 1 << 32
HISTORY_SIZE = 512


def seq_newer(a: int, b: int) -> bool:
    """Whether sequence number ``a`` comes after ``b`` (RFC 3550 wrap-around)."""
    return a != b and ((a - b) % SEQ_MOD) < SEQ_MOD // 2


class StreamRewriter:
    """Maps incoming RTP streams onto one outgoing stream of a subscriber.

    Args:
        ssrc: The SSRC the subscriber receives.
        payload_type: The payload type negotiated with the subscriber.
        clock_rate: The codec's RTP clock rate (48000 for Opus, 90000 for video).
        rng: Source of the random initial sequence number and timestamp.

    """

    def __init__(
        self, ssrc: int, payload_type: int, clock_rate: int, rng: random.Random | None = None
    ) -> None:
        rng = rng or random.Random()
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.packets = 0
        self._source: int | None = None
        self._seq_offset = 0
        self._ts_offset = 0
        self._last_seq = rng.randrange(SEQ_MOD)
        self._last_ts = rng.randrange(TS_MOD)
        self._last_time: float | None = None

    @property
    def last_timestamp(self) -> int:
        """The newest outgoing RTP timestamp."""
        return self._last_ts

    @property
    def last_time(self) -> float | None:
        """When (``now`` of :meth:`rewrite`) the newest outgoing packet was rewritten."""
        return self._last_time

    def rewrite(self, packet: RtpPacket, now: float) -> RtpPacket:
        """Return a copy of ``packet`` with the subscriber's header fields.

        Args:
            packet: The packet as the publisher sent it.
            now: The current time in seconds (any monotonic clock).

        """
        if packet.ssrc != self._source:
            # A new source continues the numbering right after the last packet sent,
            # its first timestamp advanced by the wall time since then.
            self._source = packet.ssrc
            self._seq_offset = (self._last_seq + 1 - packet.sequence_number) % SEQ_MOD
            gap = 0
            if self._last_time is not None:
                gap = max(1, int((now - self._last_time) * self.clock_rate))
            self._ts_offset = (self._last_ts + gap - packet.timestamp) % TS_MOD
        seq = (packet.sequence_number + self._seq_offset) % SEQ_MOD
        ts = (packet.timestamp + self._ts_offset) % TS_MOD
        if self.packets == 0 or seq_newer(seq, self._last_seq):
            self._last_seq, self._last_ts, self._last_time = seq, ts, now
        self.packets += 1
        out = RtpPacket(
            payload_type=self.payload_type,
            marker=packet.marker,
            sequence_number=seq,
            timestamp=ts,
            ssrc=self.ssrc,
            payload=packet.payload,
        )
        out.csrc = list(packet.csrc)
        out.padding_size = packet.padding_size
        return out


class PacketHistory:
    """The last packets sent to a subscriber, for answering its NACKs.

    Args:
        size: How many packets are kept (a power of two).

    """

    def __init__(self, size: int = HISTORY_SIZE) -> None:
        if size <= 0 or size & (size - 1):
            raise ValueError("size must be a power of two")
        self._mask = size - 1
        self._slots: list[tuple[int, bytes] | None] = [None] * size

    def add(self, seq: int, data: bytes) -> None:
        """Remember the serialized packet with sequence number ``seq``."""
        self._slots[seq & self._mask] = (seq, data)

    def get(self, seq: int) -> bytes | None:
        """The packet with sequence number ``seq``, or ``None`` if it is gone."""
        slot = self._slots[seq & self._mask]
        if slot is None or slot[0] != seq:
            return None
        return slot[1]


def _vp8_keyframe(payload: bytes) -> bool:
    # RFC 7741 payload descriptor, then the VP8 frame header's inverse key-frame bit.
    if len(payload) < 2:
        return False
    first = payload[0]
    start, partition = bool(first & 0x10), first & 0x07
    if not start or partition != 0:
        return False
    pos = 1
    if first & 0x80:
        ext = payload[pos]
        pos += 1
        if ext & 0x80:  # PictureID
            pos += 2 if pos < len(payload) and payload[pos] & 0x80 else 1
        if ext & 0x40:  # TL0PICIDX
            pos += 1
        if ext & 0x30:  # TID / KEYIDX
            pos += 1
    return pos < len(payload) and not payload[pos] & 0x01


def _vp9_keyframe(payload: bytes) -> bool:
    # RFC 9628 descriptor: start of a frame (B) that is not inter-predicted (P).
    if not payload:
        return False
    first = payload[0]
    inter_predicted, begins = bool(first & 0x40), bool(first & 0x08)
    return begins and not inter_predicted


def _h264_keyframe(payload: bytes) -> bool:
    # RFC 6184: an IDR slice or SPS alone, in a STAP-A, or starting an FU-A.
    if not payload:
        return False
    nal = payload[0] & 0x1F
    if nal in (5, 7):
        return True
    if nal == 24:  # STAP-A
        pos = 1
        while pos + 2 < len(payload):
            size = int.from_bytes(payload[pos : pos + 2], "big")
            if payload[pos + 2] & 0x1F in (5, 7):
                return True
            pos += 2 + size
        return False
    if nal == 28 and len(payload) > 1:  # FU-A
        return bool(payload[1] & 0x80) and payload[1] & 0x1F in (5, 7)
    return False


_KEYFRAME_TESTS = {"vp8": _vp8_keyframe, "vp9": _vp9_keyframe, "h264": _h264_keyframe}


def starts_keyframe(codec: str, payload: bytes) -> bool:
    """Whether an RTP payload begins a video keyframe.

    Args:
        codec: The codec name (``"VP8"``, ``"VP9"`` or ``"H264"``, any case).
        payload: The RTP payload.

    Returns:
        ``True`` for the first packet of a keyframe; always ``True`` for codecs
        without keyframes (audio), so callers need not special-case them.

    """
    test = _KEYFRAME_TESTS.get(codec.lower())
    return True if test is None else test(payload)
