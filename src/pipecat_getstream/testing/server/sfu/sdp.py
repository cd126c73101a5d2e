"""The forwarding SFU's SDP: codec choice, answers to publishers, offers to subscribers.

The SFU never decodes media, so it negotiates no codec of its own: it accepts
the publisher's preferred codec among those a GetStream SFU forwards (Opus;
VP8, VP9, H.264) and offers each subscriber exactly that codec, with payload
types allocated per subscriber connection. The one exception is RFC 2198 redundant audio:
when the call's settings enable it (``redundant_coding_enabled``) and the publisher's track
asks for it (``TrackInfo.red``, which GetStream's web SDK sets from that setting), the answer
accepts the offered ``red`` codec ahead of Opus (:func:`choose_red`), the publisher sends
RED, and the SFU unwraps it into plain Opus for subscribers (``rtp/red.py``). This is
inferred from the web SDK's ``TrackInfo`` and the cloud's call settings; how the cloud's SFU
itself treats RED is not documented. Descriptions are built with
aiortc's SDP model (``aiortc.sdp``); no RTP header extensions and no RTX are
negotiated, so forwarded packets carry only the RTP header the SFU writes.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aiortc import RTCRtpCodecParameters, RTCRtpParameters
from aiortc.rtcrtpparameters import RTCRtcpFeedback
from aiortc.sdp import GroupDescription, MediaDescription, SessionDescription, SsrcDescription

from pipecat_getstream.testing.server.rtp.transport import DISCARD_PORT, RtpTransport

FORWARDED_CODECS = {"audio": ("opus",), "video": ("vp8", "vp9", "h264")}
_VIDEO_FEEDBACK = (("nack", None), ("nack", "pli"), ("ccm", "fir"))
_FIRST_DYNAMIC_PT = {"audio": 111, "video": 96}


def codec_name(codec: RTCRtpCodecParameters) -> str:
    """The codec's name in lower case, e.g. ``"vp9"``."""
    return codec.mimeType.split("/", 1)[-1].lower()


def choose_codec(
    media: MediaDescription, preferred: str | None = None
) -> RTCRtpCodecParameters | None:
    """The codec to receive a publisher's section in.

    Args:
        media: The publisher's offered section.
        preferred: The codec name the publisher announced for the track
            (``TrackInfo.codec``; SDK 7.x sends the one it will encode with).

    Returns:
        A copy of the offered codec (payload type and parameters kept, feedback
        trimmed to what the SFU relays): the preferred one when offered, else
        the first offered codec the SFU forwards; ``None`` when there is none.

    """
    allowed = FORWARDED_CODECS.get(media.kind, ())
    candidates = [c for c in media.rtp.codecs if codec_name(c) in allowed]
    if not candidates:
        return None
    wanted = (preferred or "").lower()
    codec = next((c for c in candidates if codec_name(c) == wanted), candidates[0])
    chosen = copy.deepcopy(codec)
    feedback = []
    for fb in codec.rtcpFeedback:
        if (fb.type, fb.parameter) in _VIDEO_FEEDBACK and fb not in feedback:
            feedback.append(fb)
    chosen.rtcpFeedback = feedback
    return chosen


def red_primaries(codec: RTCRtpCodecParameters) -> list[int]:
    """The payload types a RED codec's fmtp names, one per block (``111/111`` -> [111, 111]).

    Returns:
        An empty list when the fmtp holds no such list.

    """
    for key, value in codec.parameters.items():
        if value is None and key:
            parts = key.split("/")
            if all(part.strip().isdigit() for part in parts):
                return [int(part) for part in parts]
    return []


def choose_red(
    media: MediaDescription, primary: RTCRtpCodecParameters
) -> RTCRtpCodecParameters | None:
    """The offered RED codec that carries ``primary``, to accept beside it.

    Args:
        media: The publisher's offered audio section.
        primary: The codec chosen for the section (:func:`choose_codec`).

    Returns:
        A copy of an offered ``red`` codec at the primary's clock rate whose fmtp names
        only the primary's payload type (e.g. ``111/111``), without feedback; ``None``
        when the offer has none.

    """
    for codec in media.rtp.codecs:
        if codec_name(codec) != "red" or codec.clockRate != primary.clockRate:
            continue
        blocks = red_primaries(codec)
        if blocks and all(pt == primary.payloadType for pt in blocks):
            chosen = copy.deepcopy(codec)
            chosen.rtcpFeedback = []
            return chosen
    return None


def receive_codecs(sdp: str) -> set[str] | None:
    """Codec names a participant can receive, read from the SDP it sent with its join.

    Returns:
        Lower-case codec names, or ``None`` when ``sdp`` is empty or unreadable
        (then every codec is assumed).

    """
    if not sdp.strip():
        return None
    try:
        description = SessionDescription.parse(sdp)
    except Exception:
        return None
    names = {codec_name(c) for m in description.media for c in m.rtp.codecs}
    return names or None


def _session(kind: str, version: int, session_id: int) -> SessionDescription:
    description = SessionDescription()
    description.origin = f"- {session_id} {version} IN IP4 0.0.0.0"
    description.msid_semantic.append(GroupDescription(semantic="WMS", items=["*"]))
    description.type = kind
    return description


def _bundle(description: SessionDescription) -> None:
    mids = [m.rtp.muxId for m in description.media if m.port != 0]
    description.group.append(GroupDescription(semantic="BUNDLE", items=mids))  # type: ignore[arg-type]


def build_answer(
    offer: SessionDescription,
    accepted: Mapping[str, Sequence[RTCRtpCodecParameters]],
    transport: RtpTransport,
    dtls_role: str,
    session_id: int,
) -> str:
    """Answer a publisher's offer: receive the accepted sections, reject the rest.

    Args:
        offer: The publisher's parsed offer.
        accepted: The codecs accepted per media id (``a=mid``), in order of preference: the
            publisher sends the first (RED, when accepted, precedes the Opus it carries).
        transport: The publisher connection's transport (ICE and DTLS lines).
        dtls_role: This side's DTLS role (``"client"`` or ``"server"``).
        session_id: The SDP session id of this connection.

    """
    answer = _session("answer", 1, session_id)
    for offered in offer.media:
        mid = offered.rtp.muxId
        codecs = list(accepted.get(mid or "", ()))
        fmt = [c.payloadType for c in codecs] if codecs else offered.fmt[:1]
        media = MediaDescription(offered.kind, DISCARD_PORT, offered.profile, fmt)
        media.rtp = RTCRtpParameters(codecs=codecs, muxId=mid)
        media.direction = "recvonly" if codecs else "inactive"
        if not codecs:
            media.port = 0
        transport.describe(media, setup=dtls_role)
        answer.media.append(media)
    _bundle(answer)
    return str(answer)


@dataclass
class OfferSlot:
    """One media section of a subscriber offer.

    Attributes:
        mid: The section's media id.
        kind: ``"audio"`` or ``"video"``.
        codec: The codec, with the subscriber connection's payload type.
        ssrc: The SSRC the subscriber receives.
        stream_id: The msid stream id, ``<track_lookup_prefix>:TRACK_TYPE_<NAME>:<tag>``
            (also the RTCP canonical name of the stream), see :mod:`.naming`.
        track_id: The msid track id, a UUID.
        active: Whether the section still carries a track (ended ones stay, inactive).

    """

    mid: str
    kind: str
    codec: RTCRtpCodecParameters
    ssrc: int
    stream_id: str
    track_id: str
    active: bool = True


class PayloadTypes:
    """Payload types of one subscriber connection: one per distinct codec, never reused."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[object, ...], int] = {}
        self._next = dict(_FIRST_DYNAMIC_PT)
        self._used: set[int] = set()

    @staticmethod
    def _key(kind: str, codec: RTCRtpCodecParameters) -> tuple[object, ...]:
        params = tuple(sorted((k, str(v)) for k, v in codec.parameters.items()))
        return (kind, codec_name(codec), codec.clockRate, codec.channels, params)

    def assign(self, kind: str, codec: RTCRtpCodecParameters) -> RTCRtpCodecParameters:
        """A copy of ``codec`` with this connection's payload type for it."""
        key = self._key(kind, codec)
        pt = self._by_key.get(key)
        if pt is None:
            pt = self._next[kind]
            while pt in self._used:
                pt += 1
            if pt > 127:
                raise RuntimeError("no free RTP payload type left on this connection")
            self._used.add(pt)
            self._by_key[key] = pt
        out = copy.deepcopy(codec)
        out.payloadType = pt
        if kind == "video":
            out.rtcpFeedback = [RTCRtcpFeedback(type=t, parameter=p) for t, p in _VIDEO_FEEDBACK]
        else:
            out.rtcpFeedback = []
        return out


def build_offer(
    slots: Iterable[OfferSlot],
    transport: RtpTransport,
    version: int,
    session_id: int,
) -> str:
    """Offer a subscriber every slot, in order (ended ones as inactive sections).

    Args:
        slots: The media sections, in the order of earlier offers, new ones last.
        transport: The subscriber connection's transport.
        version: The SDP session version (grows with each offer).
        session_id: The SDP session id of this connection.

    """
    offer = _session("offer", version, session_id)
    for slot in slots:
        media = MediaDescription(
            slot.kind, DISCARD_PORT, "UDP/TLS/RTP/SAVPF", [slot.codec.payloadType]
        )
        media.rtp = RTCRtpParameters(codecs=[slot.codec], muxId=slot.mid)
        if slot.active:
            media.direction = "sendonly"
            media.msid = f"{slot.stream_id} {slot.track_id}"
            media.ssrc = [
                SsrcDescription(ssrc=slot.ssrc, cname=slot.stream_id, msid=media.msid),
            ]
        else:
            media.direction = "inactive"
        transport.describe(media, setup="auto")
        offer.media.append(media)
    _bundle(offer)
    return str(offer)


def new_session_id() -> int:
    """A random SDP session id."""
    return secrets.randbits(62)
