"""The media forwarding unit: aiortc peer connections and a per-track fan-out.

Each participant session has a publisher connection (the SDK offers, the
server answers and receives the participant's tracks) and a subscriber
connection (the server offers the tracks the participant subscribed to).
Every received track feeds a :class:`Forwarder` that hands each decoded frame
to one :class:`ForwardTrack` per subscriber; aiortc re-encodes it for that
subscriber with whatever codec was negotiated.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aioice
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcicetransport import candidate_from_aioice
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from loguru import logger

from pipecat_getstream.testing.faults import FaultState
from pipecat_getstream.testing.ice import force_host_candidates

# Frames a subscriber may lag behind before the oldest are dropped.
_MAX_QUEUE = {"audio": 10, "video": 3}

SubscriptionKey = tuple[str, int]


def make_peer_connection() -> RTCPeerConnection:
    """Create a server-side peer connection with no STUN/TURN and max-bundle."""
    return RTCPeerConnection(
        RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    )


class ForwardTrack(MediaStreamTrack):
    """A track sent to one subscriber, fed frames by a :class:`Forwarder`.

    Args:
        kind: ``"audio"`` or ``"video"``.
        track_id: The id the subscriber sees (``"<prefix>:TRACK_TYPE_AUDIO:<n>"``).

    """

    def __init__(self, kind: str, track_id: str) -> None:
        super().__init__()
        self.kind = kind
        self._id = track_id
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._limit = _MAX_QUEUE.get(kind, 5)

    def push(self, frame: Any) -> None:
        """Queue a frame, dropping the oldest when the subscriber lags."""
        if self.readyState != "live":
            return
        while self._queue.qsize() >= self._limit:
            self._queue.get_nowait()
        self._queue.put_nowait(frame)

    async def recv(self) -> Any:
        """Return the next forwarded frame."""
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._queue.get()
        if frame is None:
            raise MediaStreamError
        return frame

    def stop(self) -> None:
        """End the track; the sender stops."""
        if self.readyState == "live":
            super().stop()
            self._queue.put_nowait(None)


class Forwarder:
    """Reads one received track and fans its frames out to subscribers.

    Args:
        source: The track received on a publisher connection.
        faults: Media faults to apply (drop/delay) per forwarded frame.

    """

    def __init__(self, source: MediaStreamTrack, faults: FaultState) -> None:
        self.source = source
        self.kind = source.kind
        self.frames = 0
        self.ended = False
        self._faults = faults
        self._sinks: list[ForwardTrack] = []
        self._task = asyncio.ensure_future(self._run())

    def add_sink(self, track_id: str) -> ForwardTrack:
        """Create a new subscriber track fed by this forwarder."""
        sink = ForwardTrack(self.kind, track_id)
        self._sinks.append(sink)
        return sink

    def remove_sink(self, sink: ForwardTrack) -> None:
        """Stop feeding ``sink`` and end it."""
        if sink in self._sinks:
            self._sinks.remove(sink)
        sink.stop()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await self.source.recv()
                self.frames += 1
                delay = self._faults.delay_ms / 1000.0
                for sink in list(self._sinks):
                    if self._faults.should_drop():
                        continue
                    if delay > 0:
                        loop.call_later(delay, sink.push, frame)
                    else:
                        sink.push(frame)
        except (MediaStreamError, asyncio.CancelledError):
            pass
        except Exception:
            logger.exception("forwarder stopped")
        finally:
            self.ended = True
            for sink in self._sinks:
                sink.stop()

    def stop(self) -> None:
        """Stop reading the source and end every subscriber track."""
        self._task.cancel()
        for sink in list(self._sinks):
            sink.stop()
        self._sinks.clear()
        self.ended = True


def _h264_first() -> list[RTCRtpCodecCapability]:
    """Video codecs with H.264 first: the cloud forwards the SDK's H.264 as is."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    return sorted(codecs, key=lambda c: c.mimeType.lower() != "video/h264")


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


def _trim_audio_jitter_buffer(pc: RTCPeerConnection, track: MediaStreamTrack) -> None:
    """Hold one packet instead of four in the server's own audio receivers (-60 ms)."""
    for transceiver in pc.getTransceivers():
        receiver = transceiver.receiver
        if receiver.track is track and hasattr(receiver, "_RTCRtpReceiver__jitter_buffer"):
            receiver._RTCRtpReceiver__jitter_buffer = JitterBuffer(capacity=16, prefetch=1)  # type: ignore[attr-defined]


class PublisherLink:
    """The server side of a participant's publisher connection.

    Args:
        host: The address the server's ICE candidates use.
        on_track: Called with each track the participant starts sending.

    """

    def __init__(self, host: str, on_track: Callable[[MediaStreamTrack], None]) -> None:
        self.host = host
        self.pc = make_peer_connection()
        self._lock = asyncio.Lock()

        @self.pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                _trim_audio_jitter_buffer(self.pc, track)
            on_track(track)

    async def answer(self, offer_sdp: str) -> str:
        """Apply the participant's offer and return the server's answer SDP."""
        async with self._lock:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            force_host_candidates(self.pc, self.host)
            answer = await self.pc.createAnswer()
            await self.pc.setLocalDescription(answer)
            return str(self.pc.localDescription.sdp)

    async def add_candidate(self, candidate: RTCIceCandidate) -> None:
        """Add a trickled remote candidate."""
        await self.pc.addIceCandidate(candidate)

    async def close(self) -> None:
        """Close the connection (received tracks end)."""
        await self.pc.close()


class SubscriberLink:
    """The server side of a participant's subscriber connection.

    The server is the offerer: whenever tracks are added it sends a
    ``subscriber_offer`` and waits for ``SendAnswer`` before offering again.

    Args:
        host: The address the server's ICE candidates use.
        send_offer: Sends an offer SDP to the participant; returns ``False``
            when the participant's socket is down (the offer is re-sent on reconnect).

    """

    def __init__(self, host: str, send_offer: Callable[[str], Awaitable[bool]]) -> None:
        self.host = host
        self.pc = make_peer_connection()
        self._send_offer = send_offer
        self._lock = asyncio.Lock()
        self._senders: dict[SubscriptionKey, tuple[ForwardTrack, Forwarder]] = {}
        self._dirty = False
        self._counter = 0
        self.offers_sent = 0

    @property
    def forwarded(self) -> dict[SubscriptionKey, str]:
        """Track ids currently forwarded, by ``(publisher session id, track type)``."""
        return {key: sink.id for key, (sink, _) in self._senders.items()}

    async def sync(
        self, wanted_fn: Callable[[], dict[SubscriptionKey, tuple[Forwarder, str]]]
    ) -> None:
        """Forward exactly the wanted sources, then offer if tracks were added.

        Args:
            wanted_fn: Returns the wanted sources (forwarder and track lookup
                prefix by key); called under the link's lock so it sees fresh state.

        """
        async with self._lock:
            wanted = wanted_fn()
            for key, (sink, forwarder) in list(self._senders.items()):
                want = wanted.get(key)
                if want is None or want[0] is not forwarder:
                    forwarder.remove_sink(sink)
                    del self._senders[key]
            added = False
            for key, (forwarder, prefix) in wanted.items():
                if key in self._senders or forwarder.ended:
                    continue
                self._counter += 1
                name = f"{prefix}:{models_pb2.TrackType.Name(key[1])}:{self._counter}"  # type: ignore[arg-type]
                sink = forwarder.add_sink(name)
                transceiver = self.pc.addTransceiver(sink, direction="sendonly")
                if sink.kind == "video":
                    transceiver.setCodecPreferences(_h264_first())
                self._senders[key] = (sink, forwarder)
                added = True
            if added:
                await self._negotiate()

    async def _negotiate(self) -> None:
        if self.pc.signalingState != "stable":
            self._dirty = True
            return
        self._dirty = False
        force_host_candidates(self.pc, self.host)
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        await self._offer()

    async def _offer(self) -> None:
        if await self._send_offer(str(self.pc.localDescription.sdp)):
            self.offers_sent += 1

    async def on_answer(self, sdp: str) -> None:
        """Apply the participant's answer, then offer again if more changed meanwhile."""
        async with self._lock:
            if self.pc.signalingState != "have-local-offer":
                logger.debug("subscriber answer ignored in state {}", self.pc.signalingState)
                return
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            if self._dirty:
                await self._negotiate()

    async def resend_pending(self) -> None:
        """Re-send an unanswered offer, or send one for changes made while offline."""
        async with self._lock:
            if self.pc.signalingState == "have-local-offer":
                await self._offer()
            elif self._dirty:
                await self._negotiate()

    async def add_candidate(self, candidate: RTCIceCandidate) -> None:
        """Add a trickled remote candidate."""
        await self.pc.addIceCandidate(candidate)

    async def close(self) -> None:
        """Stop every forwarded track and close the connection."""
        for sink, forwarder in self._senders.values():
            forwarder.remove_sink(sink)
        self._senders.clear()
        await self.pc.close()
