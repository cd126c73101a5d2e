"""The SFU's video bridge: an H.264 track re-encoded as VP8 keeps its picture."""

from __future__ import annotations

import asyncio
import fractions

import av
import numpy as np
from aiortc import RTCRtpCodecParameters
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Decoder, vp8_depayload
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket

from pipecat_getstream.testing.server.rtp.forwarding import Forwarder
from pipecat_getstream.testing.server.rtp.rewrite import starts_keyframe
from pipecat_getstream.testing.server.rtp.transcode import bridge_for, close_bridge, vp9_depayload

H264 = RTCRtpCodecParameters(
    mimeType="video/H264",
    clockRate=90000,
    payloadType=102,
    parameters={"packetization-mode": "1", "profile-level-id": "42e01f"},
)


class Collect:
    """A sink that keeps the VP8 packets the bridge emits."""

    def __init__(self) -> None:
        self.packets: list[RtpPacket] = []

    async def forward(self, packet: RtpPacket, now: float, keyframe: bool) -> None:
        self.packets.append(packet)


def frame(i: int) -> av.VideoFrame:
    img = np.zeros((240, 320, 3), dtype=np.uint8)
    img[:, : 40 + i * 4] = (200, 30, 30)
    out = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
    out.pts, out.time_base = i * 3000, fractions.Fraction(1, 90000)
    return out


async def test_h264_track_is_offered_again_as_decodable_vp8() -> None:
    source = Forwarder("video", H264, 2, request_keyframe=lambda ssrc: None)
    output = bridge_for(source)
    assert bridge_for(source) is output  # one bridge per published track
    sink = Collect()
    output.add_sink(sink)  # type: ignore[arg-type]
    encoder, seq = H264Encoder(), 0
    for i in range(15):
        payloads, ts = encoder.encode(frame(i), force_keyframe=(i == 0))
        for k, payload in enumerate(payloads):
            seq += 1
            packet = RtpPacket(
                payload_type=102,
                marker=int(k == len(payloads) - 1),
                sequence_number=seq,
                timestamp=ts,
                ssrc=5,
                payload=payload,
            )
            await source.handle(packet)
        await asyncio.sleep(0.02)
    for _ in range(100):
        if sum(p.marker for p in sink.packets) >= 10:
            break
        await asyncio.sleep(0.05)
    assert starts_keyframe("vp8", sink.packets[0].payload)
    decoder, sizes, parts = Vp8Decoder(), set(), []
    for packet in sink.packets:
        parts.append(vp8_depayload(packet.payload))
        if packet.marker:
            for image in decoder.decode(JitterFrame(b"".join(parts), packet.timestamp)):
                sizes.add((image.width, image.height))
            parts = []
    assert sizes == {(320, 240)}
    close_bridge(source)
    assert output.ended and source.bridge is None and not source.sinks


def test_vp9_descriptor_is_stripped() -> None:
    # I=1 (15-bit picture id), B=1, E=1, then the payload.
    assert vp9_depayload(bytes([0x8C, 0x80, 0x01]) + b"frame") == b"frame"
    # Non-flexible with layer indices (L=1): picture id (7-bit), TID/SID byte, TL0PICIDX.
    assert vp9_depayload(bytes([0xAC, 0x05, 0x00, 0x07]) + b"data") == b"data"
    # Flexible (F=1), inter-predicted (P=1), two reference indices.
    assert vp9_depayload(bytes([0xD8, 0x05, 0x03, 0x02]) + b"ref") == b"ref"
