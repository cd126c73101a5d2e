"""RFC 2198 redundant audio in the local SFU: parsing, unwrapping, loss recovery, the answer."""

from __future__ import annotations

import re

import pytest
from aiortc import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket
from aiortc.sdp import MediaDescription, SessionDescription

from pipecat_getstream.testing.server.faults import FaultState
from pipecat_getstream.testing.server.rtp.forwarding import Forwarder, Sink
from pipecat_getstream.testing.server.rtp.red import (
    RedBlock,
    RedError,
    RedUnwrapper,
    build_red,
    parse_red,
)
from pipecat_getstream.testing.server.sfu.sdp import (
    OfferSlot,
    choose_codec,
    choose_red,
)

OPUS = 111
RED = 63
SSRC = 0x1234
FRAME = 960  # 20 ms of Opus at 48 kHz


def frame(n: int) -> bytes:
    """A recognisable stand-in for the Opus frame of packet ``n``."""
    return bytes([0x78, n & 0xFF]) + b"opus" * 3


def red_packet(
    seq: int, *, back: int = 1, ssrc: int = SSRC, payload: bytes | None = None
) -> RtpPacket:
    """What Chromium sends for frame ``seq``: the frame, after copies of ``back`` earlier ones."""
    ts = 10_000 + FRAME * seq
    if payload is None:
        redundant = [RedBlock(OPUS, FRAME * k, frame(seq - k)) for k in range(back, 0, -1)]
        payload = build_red(RedBlock(OPUS, 0, frame(seq)), redundant)
    return RtpPacket(
        payload_type=RED, sequence_number=seq % 65536, timestamp=ts, ssrc=ssrc, payload=payload
    )


def summary(packets: list[RtpPacket]) -> list[tuple[int, int, int, bytes]]:
    return [(p.payload_type, p.sequence_number, p.timestamp, p.payload) for p in packets]


# --------------------------------------------------------------------------- parsing
def test_a_primary_only_payload_is_one_byte_of_header_then_the_frame() -> None:
    payload = bytes([OPUS]) + b"\x01\x02\x03"
    redundant, primary = parse_red(payload)
    assert redundant == []
    assert primary == RedBlock(OPUS, 0, b"\x01\x02\x03")
    assert build_red(primary) == payload


def test_one_redundant_block_then_the_primary() -> None:
    # F=1, PT 111, offset 960, length 5; then F=0, PT 111; then the blocks' data.
    word = (1 << 31) | (OPUS << 24) | (960 << 10) | 5
    payload = word.to_bytes(4, "big") + bytes([OPUS]) + b"older" + b"newest"
    redundant, primary = parse_red(payload)
    assert redundant == [RedBlock(OPUS, 960, b"older")]
    assert primary == RedBlock(OPUS, 0, b"newest")
    assert build_red(primary, redundant) == payload


def test_two_redundant_blocks_keep_their_order_and_an_empty_block_is_allowed() -> None:
    blocks = [RedBlock(OPUS, 1920, b"a" * 200), RedBlock(OPUS, 960, b"")]
    redundant, primary = parse_red(build_red(RedBlock(OPUS, 0, b"p"), blocks))
    assert redundant == blocks and primary.payload == b"p"


@pytest.mark.parametrize(
    "payload",
    [
        b"",  # no header at all
        bytes([0x80 | OPUS, 0x0F, 0x00]),  # a block header cut short
        ((1 << 31) | (OPUS << 24) | (960 << 10) | 5).to_bytes(4, "big"),  # no primary header
        ((1 << 31) | (OPUS << 24) | (960 << 10) | 50).to_bytes(4, "big") + bytes([OPUS]) + b"xy",
        ((1 << 31) | (OPUS << 24) | (960 << 10) | 1023).to_bytes(4, "big") * 2 + bytes([OPUS]),
    ],
    ids=["empty", "short-header", "no-primary-header", "overrun", "two-overruns"],
)
def test_malformed_payloads_raise(payload: bytes) -> None:
    with pytest.raises(RedError):
        parse_red(payload)


def test_build_refuses_fields_that_do_not_fit() -> None:
    with pytest.raises(RedError):
        build_red(RedBlock(OPUS, 0, b"p"), [RedBlock(OPUS, 1 << 14, b"x")])
    with pytest.raises(RedError):
        build_red(RedBlock(OPUS, 0, b"p"), [RedBlock(OPUS, 960, b"x" * 1024)])


# --------------------------------------------------------------------------- unwrapping
def test_the_primary_is_forwarded_as_opus_with_the_packets_header() -> None:
    unwrapper = RedUnwrapper(RED, OPUS)
    packet = red_packet(5)
    packet.marker = 1
    (out,) = unwrapper.unwrap(packet)
    assert (out.payload_type, out.sequence_number, out.timestamp, out.ssrc) == (
        OPUS,
        5,
        packet.timestamp,
        SSRC,
    )
    assert out.payload == frame(5) and out.marker == 1
    assert unwrapper.stats.packets == 1 and unwrapper.stats.recovered == 0


def test_an_unbroken_stream_forwards_only_primaries() -> None:
    unwrapper = RedUnwrapper(RED, OPUS)
    out = [p for seq in range(10, 20) for p in unwrapper.unwrap(red_packet(seq, back=2))]
    assert [p.sequence_number for p in out] == list(range(10, 20))
    assert [p.payload for p in out] == [frame(n) for n in range(10, 20)]
    assert unwrapper.stats.recovered == 0


def test_a_lost_packet_is_recovered_from_the_next_one() -> None:
    unwrapper = RedUnwrapper(RED, OPUS)
    unwrapper.unwrap(red_packet(100))
    out = unwrapper.unwrap(red_packet(102))  # 101 was lost
    assert summary(out) == [
        (OPUS, 101, 10_000 + FRAME * 101, frame(101)),
        (OPUS, 102, 10_000 + FRAME * 102, frame(102)),
    ]
    assert out[0].marker == 0
    assert unwrapper.stats.recovered == 1


def test_recovery_goes_as_far_as_the_redundancy_and_leaves_the_rest_a_gap() -> None:
    unwrapper = RedUnwrapper(RED, OPUS)
    unwrapper.unwrap(red_packet(200, back=2))
    out = unwrapper.unwrap(red_packet(204, back=2))  # 201-203 lost; 202 and 203 inside 204
    assert [(p.sequence_number, p.payload) for p in out] == [
        (202, frame(202)),
        (203, frame(203)),
        (204, frame(204)),
    ]
    assert unwrapper.stats.recovered == 2


def test_redundancy_older_than_the_gap_is_not_forwarded_again() -> None:
    unwrapper = RedUnwrapper(RED, OPUS)
    unwrapper.unwrap(red_packet(300, back=2))
    out = unwrapper.unwrap(red_packet(302, back=2))  # 301 lost; 300 also inside, forwarded
    assert [p.sequence_number for p in out] == [301, 302]


def test_recovery_stops_at_a_block_not_newer_than_the_last_frame() -> None:
    # After a DTX pause the sender's sequence numbers run on while timestamps jump: a
    # block at or before the last forwarded timestamp is not the missing packet.
    unwrapper = RedUnwrapper(RED, OPUS)
    unwrapper.unwrap(red_packet(400))
    stale = build_red(
        RedBlock(OPUS, 0, frame(402)), [RedBlock(OPUS, FRAME * 2, frame(400))]
    )  # claims to carry frame 400 as the one before 402
    out = unwrapper.unwrap(red_packet(402, payload=stale))
    assert [p.sequence_number for p in out] == [402]
    assert unwrapper.stats.recovered == 0


def test_the_late_original_of_a_recovered_frame_is_dropped() -> None:
    unwrapper = RedUnwrapper(RED, OPUS)
    unwrapper.unwrap(red_packet(500))
    unwrapper.unwrap(red_packet(502))  # recovers 501
    assert unwrapper.unwrap(red_packet(501)) == []
    assert unwrapper.stats.duplicates == 1
    # A late packet that was not recovered is forwarded (the jitter buffer orders it).
    unwrapper.unwrap(red_packet(505, back=0))
    (late,) = unwrapper.unwrap(red_packet(503, back=0))
    assert late.sequence_number == 503


def test_recovery_wraps_around_the_sequence_numbers() -> None:
    unwrapper = RedUnwrapper(RED, OPUS)
    unwrapper.unwrap(red_packet(65534))
    out = unwrapper.unwrap(red_packet(65536, back=1))  # 65535 lost, the next is 0
    assert [p.sequence_number for p in out] == [65535, 0]


def test_a_new_source_is_not_recovered_across() -> None:
    unwrapper = RedUnwrapper(RED, OPUS)
    unwrapper.unwrap(red_packet(600))
    out = unwrapper.unwrap(red_packet(700, ssrc=0x9999))
    assert [p.sequence_number for p in out] == [700]


@pytest.mark.parametrize(
    "payload",
    [
        ((1 << 31) | (OPUS << 24) | (960 << 10) | 300).to_bytes(4, "big") + bytes([OPUS]),
        bytes([0x80 | OPUS]),
        build_red(RedBlock(OPUS, 0, b""), [RedBlock(OPUS, FRAME, frame(1))]),  # redundancy only
        build_red(RedBlock(13, 0, b"\x40")),  # comfort noise, not Opus
    ],
    ids=["overrun", "short-header", "redundant-only", "not-opus"],
)
def test_a_bad_packet_is_dropped_and_counted(payload: bytes) -> None:
    unwrapper = RedUnwrapper(RED, OPUS)
    assert unwrapper.unwrap(red_packet(1, payload=payload)) == []
    assert unwrapper.stats.dropped == 1 and unwrapper.stats.packets == 0


def test_a_dropped_packet_is_recovered_from_the_next_one() -> None:
    unwrapper = RedUnwrapper(RED, OPUS)
    unwrapper.unwrap(red_packet(10))
    assert unwrapper.unwrap(red_packet(11, payload=b"")) == []
    out = unwrapper.unwrap(red_packet(12))
    assert [(p.sequence_number, p.payload) for p in out] == [(11, frame(11)), (12, frame(12))]
    assert (unwrapper.stats.dropped, unwrapper.stats.recovered) == (1, 1)


def test_plain_opus_passes_unchanged_and_counts_for_gaps() -> None:
    unwrapper = RedUnwrapper(RED, OPUS)
    plain = RtpPacket(payload_type=OPUS, sequence_number=7, timestamp=1, ssrc=SSRC, payload=b"o")
    assert unwrapper.unwrap(plain) == [plain]
    assert [p.sequence_number for p in unwrapper.unwrap(red_packet(8))] == [8]


# --------------------------------------------------------------------------- forwarding
class _Subscriber:
    user_id = "bob"
    is_connected = True

    def __init__(self) -> None:
        self.sent: list[RtpPacket] = []

    async def send(self, data: bytes) -> bool:
        self.sent.append(RtpPacket.parse(data))
        return True


def _opus_codec(pt: int = OPUS) -> RTCRtpCodecParameters:
    return RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=pt)


async def test_a_red_track_reaches_subscribers_as_opus_with_a_lost_frame_recovered() -> None:
    forwarder = Forwarder("audio", _opus_codec(), 1, lambda ssrc: None, red_payload_type=RED)
    sizes: list[int] = []
    forwarder.on_packet = lambda packet: sizes.append(len(packet.payload))
    subscriber = _Subscriber()
    slot = OfferSlot("0", "audio", _opus_codec(100), 4242, "p:1", "p:AUDIO:1")
    sink = Sink(forwarder, slot, subscriber, FaultState())
    sink.negotiated = True
    forwarder.add_sink(sink)
    for seq in (1, 2, 4, 5):  # 3 lost
        await forwarder.handle(red_packet(seq))
    assert [p.payload for p in subscriber.sent] == [frame(n) for n in range(1, 6)]
    assert {p.payload_type for p in subscriber.sent} == {100}
    seqs = [p.sequence_number for p in subscriber.sent]
    assert [(b - a) % 65536 for a, b in zip(seqs[:-1], seqs[1:], strict=True)] == [1, 1, 1, 1]
    assert sizes == [len(frame(n)) for n in range(1, 6)]  # speaker detection sees Opus sizes
    assert forwarder.red_stats is not None
    assert (forwarder.red_stats.packets, forwarder.red_stats.recovered) == (4, 1)
    # Renegotiating the same payload type keeps the counters and the stream state.
    forwarder.use_red(RED)
    await forwarder.handle(red_packet(6))
    assert forwarder.red_stats.packets == 5 and forwarder.red_payload_type == RED
    forwarder.use_red(None)
    assert forwarder.red_payload_type is None and forwarder.red_stats.packets == 5


async def test_a_track_without_red_has_no_red_counters() -> None:
    forwarder = Forwarder("audio", _opus_codec(), 1, lambda ssrc: None)
    assert forwarder.red_payload_type is None and forwarder.red_stats is None


# --------------------------------------------------------------------------- negotiation
CHROMIUM_AUDIO = """v=0
o=- 1 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 0.0.0.0
a=mid:0
a=sendonly
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
"""


def _audio(sdp: str) -> MediaDescription:
    return SessionDescription.parse(sdp).media[0]


def test_red_is_chosen_when_its_fmtp_names_the_chosen_opus() -> None:
    media = _audio(CHROMIUM_AUDIO)
    opus = choose_codec(media)
    assert opus is not None and opus.payloadType == OPUS
    red = choose_red(media, opus)
    assert red is not None and (red.payloadType, red.mimeType) == (RED, "audio/red")
    assert red.parameters == {"111/111": None}


@pytest.mark.parametrize(
    "fmtp",
    ["a=fmtp:63 109/109\n", "a=fmtp:63 111/109\n", ""],
    ids=["other-codec", "mixed", "no-fmtp"],
)
def test_red_carrying_another_codec_is_not_chosen(fmtp: str) -> None:
    media = _audio(CHROMIUM_AUDIO.replace("a=fmtp:63 111/111\n", fmtp))
    opus = choose_codec(media)
    assert opus is not None and choose_red(media, opus) is None


def test_an_offer_without_red_has_none() -> None:
    media = _audio(CHROMIUM_AUDIO.replace("a=rtpmap:63 red/48000/2\na=fmtp:63 111/111\n", ""))
    opus = choose_codec(media)
    assert opus is not None and choose_red(media, opus) is None


# --------------------------------------------------------------------------- publisher link
CHROMIUM_OFFER = CHROMIUM_AUDIO.replace(
    "a=mid:0\n",
    "a=mid:0\n"
    "a=ice-ufrag:abcd\n"
    "a=ice-pwd:abcdefghijklmnopqrstuvwx\n"
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\na=setup:actpass\n"
    "a=msid:stream mic-track\n"
    "a=ssrc:4321 cname:web\n",
)


@pytest.mark.parametrize(
    ("setting", "asks", "offer", "red_pt"),
    [
        (True, True, CHROMIUM_OFFER, RED),
        (False, True, CHROMIUM_OFFER, None),
        (True, False, CHROMIUM_OFFER, None),
        (True, True, CHROMIUM_OFFER.replace("a=fmtp:63 111/111\n", "a=fmtp:63 9/9\n"), None),
    ],
    ids=["on", "setting-off", "track-does-not-ask", "red-of-another-codec"],
)
async def test_the_publisher_answer_accepts_red_only_when_setting_track_and_offer_agree(
    setting: bool, asks: bool, offer: str, red_pt: int | None
) -> None:
    from aiortc import RTCCertificate
    from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2

    from pipecat_getstream.testing.server.sfu.publisher_link import PublisherLink

    info = models_pb2.TrackInfo(
        track_id="mic-track", track_type=models_pb2.TRACK_TYPE_AUDIO, dtx=True, red=asks
    )
    tracks: list[Forwarder] = []
    link = PublisherLink(
        "127.0.0.1",
        RTCCertificate.generateCertificate(),
        "alice",
        lambda track_id, mid, kind: info,
        tracks.append,
        dtx=True,
        red=setting,
    )
    try:
        answer = await link.answer(offer)
    finally:
        await link.close()
    (forwarder,) = tracks
    assert forwarder.codec_name == "opus" and forwarder.red_payload_type == red_pt
    router = link.transport.dtls._rtp_router
    if red_pt is None:
        assert re.search(r"m=audio \d+ UDP/TLS/RTP/SAVPF 111\r\n", answer), answer
        assert "red/" not in answer
        assert set(router.payload_type_table) == {OPUS}
    else:
        assert re.search(r"m=audio \d+ UDP/TLS/RTP/SAVPF 63 111\r\n", answer), answer
        assert "a=fmtp:63 111/111" in answer
        assert set(router.payload_type_table) == {OPUS, RED}
    assert "usedtx=1" in answer  # DTX is negotiated for the Opus either way
