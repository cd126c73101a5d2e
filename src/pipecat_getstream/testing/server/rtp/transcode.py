"""Re-encoding video for a subscriber whose SDK cannot decode the publisher's codec.

The SFU forwards packets untouched wherever it can. Two GetStream SDK
generations have no video codec in common, though: 3.x–6.x publish H.264 only
and decode VP8 and H.264; 7.x publishes VP9 (or VP8) and decodes VP8 and VP9.
So that both can see each other in one call, a :class:`VideoBridge` decodes
such a track once (PyAV: ``h264`` or ``vp9``) and re-encodes it as VP8 with
aiortc's ``Vp8Encoder`` (its ``encode`` returns RTP payloads), on a worker
thread of its own, for every subscriber that needs it. Audio (Opus) is common
to all generations and never re-encoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Any

import av
from aiortc import RTCRtpCodecParameters
from aiortc.codecs import depayload
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtp import RtpPacket
from loguru import logger

from pipecat_getstream.testing.server.rtp.forwarding import Forwarder

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
_DECODERS = {"h264": "h264", "vp9": "vp9", "vp8": "vp8"}
_TIME_BASE = Fraction(1, 90000)
_QUEUE = 4


def vp9_depayload(payload: bytes) -> bytes:
    """Strip the RFC 9628 payload descriptor (flexible or not) from a VP9 RTP payload."""
    if not payload:
        return b""
    first = payload[0]
    picture_id, layers, flexible = first & 0x80, first & 0x20, first & 0x10
    inter_predicted, scalability = first & 0x40, first & 0x02
    pos = 1
    if picture_id and pos < len(payload):
        pos += 2 if payload[pos] & 0x80 else 1
    if layers:
        pos += 1 if flexible else 2
    if flexible and inter_predicted:
        while pos < len(payload):
            more = payload[pos] & 0x01
            pos += 1
            if not more:
                break
    if scalability and pos < len(payload):
        ss = payload[pos]
        pos += 1
        spatial, has_size, has_group = (ss >> 5) + 1, ss & 0x10, ss & 0x08
        if has_size:
            pos += 4 * spatial
        if has_group and pos < len(payload):
            groups = payload[pos]
            pos += 1
            for _ in range(groups):
                if pos >= len(payload):
                    break
                refs = (payload[pos] >> 2) & 0x03
                pos += 1 + refs
    return payload[pos:]


class _Assembler:
    """Collects the packets of one frame (same timestamp, up to the marker bit)."""

    def __init__(self, codec: RTCRtpCodecParameters) -> None:
        self._codec = codec
        self._name = codec.mimeType.split("/")[-1].lower()
        self._parts: list[bytes] = []
        self._timestamp: int | None = None
        self._next_seq: int | None = None
        self._broken = False

    def push(self, packet: RtpPacket) -> tuple[int, bytes] | None:
        """Add a packet; returns ``(timestamp, frame)`` when it completes a frame."""
        if packet.timestamp != self._timestamp:
            self._parts, self._timestamp, self._broken = [], packet.timestamp, False
        elif self._next_seq is not None and packet.sequence_number != self._next_seq:
            self._broken = True  # a lost packet: the frame cannot be decoded
        self._next_seq = (packet.sequence_number + 1) % 65536
        if self._name == "vp9":
            self._parts.append(vp9_depayload(packet.payload))
        else:
            self._parts.append(depayload(self._codec, packet.payload))
        if not packet.marker or self._broken:
            return None
        frame, self._parts = b"".join(self._parts), []
        return packet.timestamp, frame


class VideoBridge:
    """Decodes one published video track and offers it again as VP8.

    Args:
        source: The published track (H.264 or VP9).

    """

    def __init__(self, source: Forwarder) -> None:
        self.source = source
        self.output = Forwarder("video", VP8, source.track_type, self._keyframe_requested)
        self.frames_out = 0
        self._assembler = _Assembler(source.codec)
        self._decoder: Any = av.CodecContext.create(_DECODERS[source.codec_name], "r")
        self._encoder = Vp8Encoder()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sfu-bridge")
        self._queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue(_QUEUE)
        self._ssrc = secrets.randbits(32) or 1
        self._seq = secrets.randbits(16)
        self._force_keyframe = True
        self._waiting_keyframe = True
        self._task = asyncio.ensure_future(self._run())
        source.add_sink(self)  # type: ignore[arg-type]

    def _keyframe_requested(self, _ssrc: int) -> None:
        self._force_keyframe = True

    async def forward(self, packet: RtpPacket, now: float, keyframe: bool) -> None:
        """Take one packet of the published track (called by its forwarder)."""
        if self._waiting_keyframe:
            if not keyframe:
                self.source.request_keyframe()
                return
            self._waiting_keyframe = False
        frame = self._assembler.push(packet)
        if frame is None:
            return
        if self._queue.full():
            # Behind: drop what is queued and restart from the next keyframe.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._waiting_keyframe = True
            self.source.request_keyframe(force=True)
            return
        self._queue.put_nowait(frame)

    def _transcode(self, timestamp: int, data: bytes, force: bool) -> list[bytes]:
        packet = av.Packet(data)
        packet.pts = timestamp
        packet.time_base = _TIME_BASE
        try:
            frames = self._decoder.decode(packet)
        except av.FFmpegError as exc:
            logger.debug("SFU bridge: {} frame not decoded: {}", self.source.codec_name, exc)
            return []
        payloads: list[bytes] = []
        for frame in frames:
            frame.pts, frame.time_base = timestamp, _TIME_BASE
            out, _ = self._encoder.encode(frame, force_keyframe=force)
            payloads += out
            force = False
        return payloads

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            timestamp, data = await self._queue.get()
            force, self._force_keyframe = self._force_keyframe, False
            try:
                payloads = await loop.run_in_executor(
                    self._executor, self._transcode, timestamp, data, force
                )
            except Exception:
                logger.exception("SFU bridge: re-encoding failed")
                continue
            for i, payload in enumerate(payloads):
                self._seq = (self._seq + 1) % 65536
                out = RtpPacket(
                    payload_type=int(VP8.payloadType or 96),
                    marker=int(i == len(payloads) - 1),
                    sequence_number=self._seq,
                    timestamp=timestamp,
                    ssrc=self._ssrc,
                    payload=payload,
                )
                await self.output.handle(out)
            if payloads:
                self.frames_out += 1

    def close(self) -> None:
        """Stop re-encoding; the VP8 track ends."""
        self.source.remove_sink(self)  # type: ignore[arg-type]
        self.output.stop()
        self._task.cancel()
        self._executor.shutdown(wait=False)


def bridge_for(source: Forwarder) -> Forwarder:
    """The VP8 version of a published video track, created on first use and shared."""
    bridge: Any = source.bridge
    if bridge is None or bridge.output.ended:
        bridge = VideoBridge(source)
        source.bridge = bridge
        logger.info(
            "SFU: re-encoding {} as VP8 for subscribers that cannot decode it",
            source.codec_name,
        )
    return bridge.output  # type: ignore[no-any-return]


def close_bridge(source: Forwarder) -> None:
    """Stop a track's bridge, if it has one."""
    bridge: Any = source.bridge
    if bridge is not None:
        source.bridge = None
        with contextlib.suppress(Exception):
            bridge.close()
