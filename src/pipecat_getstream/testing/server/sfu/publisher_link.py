"""The SFU's publisher connection (media in), and what both connections share.

The participant offers its publisher connection; the server answers with the
codec the participant prefers among those it forwards, and creates one
:class:`~pipecat_getstream.testing.server.rtp.forwarding.Forwarder` per published track.
The server offers the subscriber connection (``subscriber_link``): one media section per forwarded
track, each in its publisher's codec, named as the cloud names it
(:mod:`pipecat_getstream.testing.server.sfu.naming`). Media is forwarded without
decoding (see ``forwarding``); only video in a codec a subscriber's SDK cannot decode
is re-encoded (``transcode``). Audio a publisher sends as RFC 2198 RED (negotiated when the
call's ``redundant_coding_enabled`` and the track's ``TrackInfo.red`` ask for it, as
GetStream's web SDK does) is unwrapped into Opus before fan-out (``red``).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from typing import Any

import aioice
from aiortc import (
    RTCCertificate,
    RTCDtlsParameters,
    RTCIceCandidate,
    RTCIceParameters,
    RTCRtpCodecParameters,
)
from aiortc.rtcicetransport import candidate_from_aioice
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket, RtpPacket
from aiortc.sdp import MediaDescription, SessionDescription
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from loguru import logger

from pipecat_getstream.testing.server.rtp.forwarding import Forwarder
from pipecat_getstream.testing.server.rtp.transport import RtpTransport
from pipecat_getstream.testing.server.sfu.sdp import (
    build_answer,
    choose_codec,
    choose_red,
    new_session_id,
)

SubscriptionKey = tuple[str, int]
Wanted = dict[SubscriptionKey, tuple[Forwarder, str]]


def candidate_from_json(text: str) -> RTCIceCandidate | None:
    """Parse a trickled ``{"candidate", "sdpMid", "sdpMLineIndex"}`` JSON candidate."""
    body = json.loads(text)
    sdp = str(body.get("candidate", "")).removeprefix("candidate:")
    if not sdp:
        return None
    candidate = candidate_from_aioice(aioice.Candidate.from_sdp(sdp))
    candidate.sdpMid = body.get("sdpMid")
    candidate.sdpMLineIndex = body.get("sdpMLineIndex")
    return candidate


def remote_transport(
    description: SessionDescription,
) -> tuple[RTCIceParameters, RTCDtlsParameters, list[RTCIceCandidate]]:
    """The peer's ICE and DTLS parameters (from its first bundled section) and candidates."""
    for media in description.media:
        if media.ice is not None and media.dtls is not None and media.port != 0:
            candidates = [c for m in description.media for c in m.ice_candidates]
            return media.ice, media.dtls, candidates
    raise ValueError("the SDP has no section with ICE and DTLS parameters")


def _primary_ssrcs(media: MediaDescription) -> list[int]:
    rtx = {g.items[1] for g in media.ssrc_group if g.semantic == "FID" and len(g.items) > 1}
    return [s.ssrc for s in media.ssrc if s.ssrc not in rtx]


def _track_id(media: MediaDescription) -> str | None:
    if media.msid and " " in media.msid:
        return media.msid.split()[1]
    for ssrc in media.ssrc:
        if ssrc.msid and " " in ssrc.msid:
            return ssrc.msid.split()[1]
    return None


def _track_type(info: models_pb2.TrackInfo | None, kind: str) -> int:
    if info is not None and info.track_type:
        return int(info.track_type)
    return models_pb2.TRACK_TYPE_AUDIO if kind == "audio" else models_pb2.TRACK_TYPE_VIDEO


class PublisherLink:
    """The server side of a participant's publisher connection.

    Args:
        host: The address of the server's ICE candidate.
        certificate: The server's DTLS certificate.
        name: A label for logs.
        track_info_of: The ``TrackInfo`` the participant announced for a section,
            looked up by msid track id, media id and kind (``None`` if unknown).
        on_track: Called with each new published track.
        dtx: Whether the call's settings enable Opus DTX (``opus_dtx_enabled``): the
            answer then asks for it (``usedtx=1``) on each audio track whose ``TrackInfo``
            asks for it (``dtx``, which the web SDK sets from the same setting).
        red: Whether the call's settings enable redundant audio (``redundant_coding_enabled``):
            the answer then accepts an offered RED codec carrying the chosen Opus, ahead of it,
            on each audio track whose ``TrackInfo`` asks for it (``red``, which the web SDK
            sets from the same setting); the track's forwarder unwraps the RED packets.

    """

    def __init__(
        self,
        host: str,
        certificate: RTCCertificate,
        name: str,
        track_info_of: Callable[[str | None, str, str], models_pb2.TrackInfo | None],
        on_track: Callable[[Forwarder], None],
        dtx: bool = False,
        red: bool = False,
    ) -> None:
        self.transport = RtpTransport(host, certificate, f"{name} publisher")
        self._dtx = dtx
        self._red = red
        self._track_info_of = track_info_of
        self._on_track = on_track
        self._session_id = new_session_id()
        self._lock = asyncio.Lock()
        self._by_mid: dict[str, Forwarder] = {}
        self._by_ssrc: dict[int, Forwarder] = {}
        self._by_pt: dict[int, Forwarder] = {}
        self._rtcp_ssrc = secrets.randbits(32)

    @property
    def tracks(self) -> list[Forwarder]:
        """The live published tracks."""
        return [f for f in self._by_mid.values() if not f.ended]

    async def answer(self, offer_sdp: str) -> str:
        """Apply the participant's offer (first or renegotiated) and return the answer SDP."""
        async with self._lock:
            offer = SessionDescription.parse(offer_sdp)
            await self.transport.gather()
            accepted: dict[str, list[RTCRtpCodecParameters]] = {}
            for media in offer.media:
                mid = media.rtp.muxId or ""
                if media.kind not in ("audio", "video") or media.direction not in (
                    "sendonly",
                    "sendrecv",
                ):
                    continue
                info = self._track_info_of(_track_id(media), mid, media.kind)
                hint = info.codec.name if info is not None and info.HasField("codec") else None
                codec = choose_codec(media, hint)
                if codec is None:
                    names = [c.mimeType for c in media.rtp.codecs]
                    logger.warning("SFU: no forwardable codec offered in {}", names)
                    continue
                if media.kind == "audio" and self._dtx and info is not None and info.dtx:
                    codec.parameters["usedtx"] = 1
                red = None
                if media.kind == "audio" and self._red and info is not None and info.red:
                    red = choose_red(media, codec)
                accepted[mid] = [red, codec] if red is not None else [codec]
                red_pt = int(red.payloadType or 0) if red is not None else None
                self._update_track(mid, media, codec, _track_type(info, media.kind), red_pt)
            self._register()
            ice, dtls, candidates = remote_transport(offer)
            role = "server" if dtls.role == "client" else "client"
            answer = build_answer(offer, accepted, self.transport, role, self._session_id)
            self.transport.start(ice, dtls, candidates, controlling=ice.iceLite, dtls_role=role)
            logger.trace("SFU: publisher offer\n{}\nanswer\n{}", offer_sdp, answer)
            return answer

    def _update_track(
        self,
        mid: str,
        media: MediaDescription,
        codec: RTCRtpCodecParameters,
        track_type: int,
        red_pt: int | None,
    ) -> None:
        current = self._by_mid.get(mid)
        if (
            current is not None
            and current.track_type == track_type
            and current.codec.mimeType == codec.mimeType
        ):
            current.use_red(red_pt)
            for ssrc in _primary_ssrcs(media):
                self._by_ssrc[ssrc] = current
            return
        if current is not None:
            current.stop()
        forwarder = Forwarder(media.kind, codec, track_type, self._send_pli, red_pt)
        self._by_mid[mid] = forwarder
        for ssrc in _primary_ssrcs(media):
            self._by_ssrc[ssrc] = forwarder
        self._on_track(forwarder)

    def _register(self) -> None:
        live = {f for f in self._by_mid.values() if not f.ended}
        self._by_ssrc = {s: f for s, f in self._by_ssrc.items() if f in live}
        # A packet whose SSRC the SDP did not name is routed by payload type only where
        # one live track has that type: two VP8 tracks (camera and screen share) leave an
        # unknown SSRC unattributable, so it waits until an offer names it.
        by_pt: dict[int, list[Forwarder]] = {}
        for forwarder in live:
            by_pt.setdefault(int(forwarder.codec.payloadType or 0), []).append(forwarder)
            if forwarder.red_payload_type is not None:
                by_pt.setdefault(forwarder.red_payload_type, []).append(forwarder)
        self._by_pt = {pt: found[0] for pt, found in by_pt.items() if len(found) == 1}
        # aiortc's router passes on only packets whose payload type is registered.
        self.transport.register_receiver(self, list(self._by_ssrc), list(by_pt))

    def _send_pli(self, media_ssrc: int) -> None:
        packet = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=self._rtcp_ssrc, media_ssrc=media_ssrc)
        asyncio.ensure_future(self.transport.send(bytes(packet)))

    async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        forwarder = self._by_ssrc.get(packet.ssrc)
        if forwarder is None:
            forwarder = self._by_pt.get(packet.payload_type)
            if forwarder is None:
                return
            self._by_ssrc[packet.ssrc] = forwarder  # pinned until an offer says otherwise
        if not forwarder.ended:
            await forwarder.handle(packet)

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        """Sender reports from the publisher: nothing to do (no lip sync here)."""

    def _handle_disconnect(self) -> None:
        for forwarder in self._by_mid.values():
            forwarder.stop()

    async def add_candidate(self, candidate: RTCIceCandidate) -> None:
        """Add a trickled remote candidate."""
        await self.transport.add_candidate(candidate)

    async def close(self) -> None:
        """Close the connection; every published track ends."""
        self._handle_disconnect()
        await self.transport.close()
