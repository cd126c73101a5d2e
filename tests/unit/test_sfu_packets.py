"""The forwarding SFU's packet logic: header rewriting, NACK history, keyframes, faults."""

from __future__ import annotations

import random

import pytest
from aiortc.rtp import RtpPacket

from pipecat_getstream.testing.server.faults import FaultState
from pipecat_getstream.testing.server.rtp.rewrite import (
    PacketHistory,
    StreamRewriter,
    seq_newer,
    starts_keyframe,
)


def packet(seq: int, ts: int, ssrc: int = 1111, pt: int = 111, payload: bytes = b"x") -> RtpPacket:
    return RtpPacket(payload_type=pt, sequence_number=seq, timestamp=ts, ssrc=ssrc, payload=payload)


def test_rewrite_sets_subscriber_fields_and_keeps_payload() -> None:
    rewriter = StreamRewriter(ssrc=42, payload_type=100, clock_rate=48000, rng=random.Random(1))
    src = packet(500, 9000, payload=b"\x01\x02\x03")
    src.marker = 1
    out = rewriter.rewrite(src, now=0.0)
    assert (out.ssrc, out.payload_type, out.marker, out.payload) == (42, 100, 1, b"\x01\x02\x03")
    # Round trip through the wire format.
    parsed = RtpPacket.parse(out.serialize())
    assert (parsed.ssrc, parsed.payload_type, parsed.sequence_number) == (
        42,
        100,
        out.sequence_number,
    )


def test_rewrite_preserves_spacing_and_gaps_and_wraps() -> None:
    rewriter = StreamRewriter(ssrc=7, payload_type=96, clock_rate=90000, rng=random.Random(2))
    outs = [
        rewriter.rewrite(packet(65534 + i, 4294967000 + 3000 * i), now=i * 0.033) for i in (0, 1, 3)
    ]
    seqs = [o.sequence_number for o in outs]
    assert (seqs[1] - seqs[0]) % 65536 == 1
    assert (seqs[2] - seqs[1]) % 65536 == 2  # a publisher-side gap stays a gap (NACKable)
    assert (outs[1].timestamp - outs[0].timestamp) % 2**32 == 3000
    assert (outs[2].timestamp - outs[1].timestamp) % 2**32 == 6000


def test_new_source_continues_the_outgoing_stream() -> None:
    rewriter = StreamRewriter(ssrc=7, payload_type=111, clock_rate=48000, rng=random.Random(3))
    first = [rewriter.rewrite(packet(100 + i, 960 * i, ssrc=1), now=i * 0.02) for i in range(5)]
    # The publisher restarts: new SSRC, unrelated numbering, 1 s later.
    second = rewriter.rewrite(packet(30000, 123456, ssrc=2), now=0.08 + 1.0)
    assert (second.sequence_number - first[-1].sequence_number) % 65536 == 1
    assert (second.timestamp - first[-1].timestamp) % 2**32 == 48000
    after = rewriter.rewrite(packet(30001, 123456 + 960, ssrc=2), now=1.1)
    assert (after.sequence_number - second.sequence_number) % 65536 == 1
    assert (after.timestamp - second.timestamp) % 2**32 == 960


def test_seq_newer_wraps() -> None:
    assert seq_newer(1, 65535)
    assert not seq_newer(65535, 1)
    assert not seq_newer(5, 5)


def test_history_returns_only_the_packet_asked_for() -> None:
    history = PacketHistory(size=4)
    for seq in range(10):
        history.add(seq, bytes([seq]))
    assert history.get(9) == b"\x09"
    assert history.get(6) == b"\x06"
    assert history.get(5) is None  # overwritten by 9
    with pytest.raises(ValueError):
        PacketHistory(size=3)


@pytest.mark.parametrize(
    ("codec", "payload", "expected"),
    [
        # VP8: S=1 PID=0, no extension; frame header bit 0 clear = keyframe.
        ("VP8", bytes([0x10, 0x00, 0x9D]), True),
        ("VP8", bytes([0x10, 0x01, 0x9D]), False),
        ("VP8", bytes([0x00, 0x00]), False),  # not the start of a partition
        # VP8 with X, I (15-bit picture id), then the frame header.
        ("VP8", bytes([0x90, 0x80, 0x80, 0x01, 0x00]), True),
        # VP9: B=1 and P=0 starts a keyframe.
        ("VP9", bytes([0x08]), True),
        ("VP9", bytes([0x48]), False),
        ("VP9", bytes([0x00]), False),
        # H.264: IDR, SPS, STAP-A holding an SPS, FU-A start of an IDR, a P slice.
        ("H264", bytes([0x65, 0x88]), True),
        ("H264", bytes([0x67, 0x42]), True),
        ("H264", bytes([0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xCE]), True),
        ("H264", bytes([0x7C, 0x85, 0x00]), True),
        ("H264", bytes([0x7C, 0x05, 0x00]), False),
        ("H264", bytes([0x41, 0x9A]), False),
        ("opus", b"", True),
    ],
)
def test_keyframe_detection(codec: str, payload: bytes, expected: bool) -> None:
    assert starts_keyframe(codec, payload) is expected


def test_faults_per_user_override_the_default() -> None:
    faults = FaultState()
    faults.set_media(0.5, 0)
    faults.set_media(0.0, 200, user_id="bob")
    assert faults.media_for("alice").drop_fraction == 0.5
    assert faults.media_for("bob").delay_ms == 200
    assert faults.media_for("bob").drop_fraction == 0.0
    faults.set_media(0.0, 0, user_id="bob")
    assert faults.media_for("bob").drop_fraction == 0.5
    faults.clear_media()
    assert not faults.media_for("alice").active
    with pytest.raises(ValueError):
        faults.set_media(1.5, 0)
    always = faults.media_for("x").__class__(drop_fraction=1.0)
    assert all(faults.should_drop(always) for _ in range(20))


class _Subscriber:
    """A subscriber transport that records what it is sent."""

    user_id = "bob"
    is_connected = True

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, data: bytes) -> bool:
        self.sent.append(data)
        return True


async def test_a_sink_sends_nothing_before_the_subscriber_answered() -> None:
    # Until the answer, the subscriber does not know the SSRC and would route the packets
    # by payload type, perhaps to another track of the same codec.
    from aiortc import RTCRtpCodecParameters

    from pipecat_getstream.testing.server.rtp.forwarding import Forwarder, Sink
    from pipecat_getstream.testing.server.sfu.sdp import OfferSlot

    opus = RTCRtpCodecParameters(
        mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111
    )
    forwarder = Forwarder("audio", opus, 1, lambda ssrc: None)
    subscriber = _Subscriber()
    sink = Sink(
        forwarder, OfferSlot("0", "audio", opus, 4242, "p:1", "p:AUDIO:1"), subscriber, FaultState()
    )
    await sink.forward(packet(1, 960), 0.0, keyframe=False)
    assert subscriber.sent == []
    sink.negotiated = True
    await sink.forward(packet(2, 1920), 0.02, keyframe=False)
    assert len(subscriber.sent) == 1
    assert RtpPacket.parse(subscriber.sent[0]).ssrc == 4242
