"""A participant that speaks to the SFU as GetStream's web SDK does, on aiortc.

Twirp calls go as protobuf JSON (``Content-Type: application/json``, the only encoding the
web SDK sends), with an ``Origin`` header as from a page on another origin; the signaling
socket carries protobuf as in every SDK. It never asks for audio (the web SDK does not),
and reads each forwarded stream's id as the web SDK's ``handleOnTrack`` does: the part
before the first ``:`` is the publisher's track lookup prefix, the second part a
``TRACK_TYPE_*`` name (anything else: "Unknown track type", the track is dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import uuid
from typing import Any

import aiohttp
import av
import httpx
import jwt
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from getstream.video.rtc.pb.stream.video.sfu.event import events_pb2

from pipecat_getstream.testing import LocalStreamServer

ORIGIN = "http://app.example.test:5173"
SERVICE = "stream.video.sfu.signal.SignalServer"
TRACK_TYPE_NAMES = (
    "TRACK_TYPE_AUDIO",
    "TRACK_TYPE_VIDEO",
    "TRACK_TYPE_SCREEN_SHARE",
    "TRACK_TYPE_SCREEN_SHARE_AUDIO",
)


class ToneTrack(MediaStreamTrack):
    """A 48 kHz mono sine, 20 ms per frame, paced in real time."""

    kind = "audio"

    def __init__(self, freq: float) -> None:
        super().__init__()
        self._freq = freq
        self._sent = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        """The next 20 ms of the tone."""
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self._sent / 48000 - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (np.arange(960) + self._sent) / 48000
        samples = (np.sin(2 * np.pi * self._freq * t) * 12000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, self._sent
        frame.time_base = fractions.Fraction(1, 48000)
        self._sent += 960
        return frame


def read_stream_id(stream_id: str) -> tuple[str, str | None]:
    """``(prefix, track type name)`` as the web SDK reads a stream id (``None``: unknown)."""
    parts = stream_id.split(":")
    name = parts[1] if len(parts) > 1 else ""
    return parts[0], name if name in TRACK_TYPE_NAMES else None


class WebSdkPeer:
    """One browser-like participant: REST join, signaling socket, JSON Twirp, aiortc media.

    Attributes:
        streams: The stream id of every section offered to it, in order.
        audio: Received mono samples at 48 kHz, by the stream id they came on.
        prefixes: Track lookup prefix by user id, from the join response and events.

    """

    def __init__(self, server: LocalStreamServer, call_id: str, user_id: str) -> None:
        self.server, self.call_id, self.user_id = server, call_id, user_id
        self.session_id = str(uuid.uuid4())
        self.streams: list[str] = []
        self.audio: dict[str, list[np.ndarray]] = {}
        self.prefixes: dict[str, str] = {}
        self.answers = 0
        self._http = httpx.AsyncClient(timeout=10, headers={"Origin": ORIGIN})
        self._ws_session = aiohttp.ClientSession()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._twirp = self._token = ""
        self._subscriber = RTCPeerConnection()
        self._publisher = RTCPeerConnection()
        self._tasks: list[asyncio.Task[Any]] = []
        self._subscriber.on("track", self._on_track)

    async def __aenter__(self) -> WebSdkPeer:
        token = jwt.encode({"user_id": self.user_id}, self.server.api_secret, algorithm="HS256")
        reply = await self._http.post(
            f"{self.server.base_url}/api/v2/video/call/default/{self.call_id}/join",
            params={"api_key": self.server.api_key},
            headers={"Authorization": token, "stream-auth-type": "jwt"},
            json={"create": True},
        )
        reply.raise_for_status()
        credentials = reply.json()["credentials"]
        self._twirp, self._token = credentials["server"]["url"], credentials["token"]
        self._ws = await self._ws_session.ws_connect(credentials["server"]["ws_endpoint"])
        join = events_pb2.JoinRequest(token=self._token, session_id=self.session_id)
        await self._ws.send_bytes(events_pb2.SfuRequest(join_request=join).SerializeToString())
        self._tasks.append(asyncio.ensure_future(self._events()))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None:
            leave = events_pb2.LeaveCallRequest(session_id=self.session_id, reason="done")
            with contextlib.suppress(Exception):
                await self._ws.send_bytes(
                    events_pb2.SfuRequest(leave_call_request=leave).SerializeToString()
                )
                await self._ws.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._subscriber.close()
        await self._publisher.close()
        await self._ws_session.close()
        await self._http.aclose()

    async def twirp(self, method: str, body: dict[str, Any]) -> httpx.Response:
        """POST one ``SignalServer`` method as protobuf JSON, as the web SDK does."""
        return await self._http.post(
            f"{self._twirp}/{SERVICE}/{method}",
            content=json.dumps(body),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self._token}"},
        )

    async def publish_tone(self, freq: float, *, dtx: bool = False) -> dict[str, Any]:
        """Publish a microphone tone through JSON ``SetPublisher``; returns its answer.

        Args:
            freq: The tone's frequency.
            dtx: Ask for Opus DTX in the ``TrackInfo`` (as the web SDK does when the call's
                settings enable it).

        """
        track = ToneTrack(freq)
        self._publisher.addTransceiver(track, direction="sendonly")
        await self._publisher.setLocalDescription(await self._publisher.createOffer())
        info = {"track_id": track.id, "track_type": "TRACK_TYPE_AUDIO", "mid": "0", "dtx": dtx}
        reply = await self.twirp(
            "SetPublisher",
            {
                "sdp": self._publisher.localDescription.sdp,
                "sessionId": self.session_id,  # the web SDK's lowerCamelCase JSON names
                "tracks": [info],
            },
        )
        reply.raise_for_status()
        body: dict[str, Any] = reply.json()
        await self._publisher.setRemoteDescription(RTCSessionDescription(body["sdp"], "answer"))
        return body

    async def _events(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.BINARY:
                break
            event = events_pb2.SfuEvent.FromString(msg.data)
            kind = event.WhichOneof("event_payload")
            if kind == "join_response":
                for person in event.join_response.call_state.participants:
                    self.prefixes[person.user_id] = person.track_lookup_prefix
            elif kind == "participant_joined":
                person = event.participant_joined.participant
                self.prefixes[person.user_id] = person.track_lookup_prefix
            elif kind == "subscriber_offer":
                await self._answer(event.subscriber_offer.sdp)

    async def _answer(self, sdp: str) -> None:
        for line in sdp.splitlines():
            if line.startswith("a=msid:"):
                stream_id = line[len("a=msid:") :].split()[0]
                if stream_id not in self.streams:
                    self.streams.append(stream_id)
        await self._subscriber.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await self._subscriber.setLocalDescription(await self._subscriber.createAnswer())
        reply = await self.twirp(
            "SendAnswer",
            {
                "peer_type": "PEER_TYPE_SUBSCRIBER",
                "sdp": self._subscriber.localDescription.sdp,
                "session_id": self.session_id,
            },
        )
        reply.raise_for_status()
        self.answers += 1

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._tasks.append(asyncio.ensure_future(self._listen(track)))

    async def _listen(self, track: MediaStreamTrack) -> None:
        key = self._stream_of(track)
        chunks = self.audio.setdefault(key, [])
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        with contextlib.suppress(Exception):
            while True:
                frame = await track.recv()
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))

    def _stream_of(self, track: MediaStreamTrack) -> str:
        for transceiver in self._subscriber.getTransceivers():
            if transceiver.receiver.track is track:
                mid = transceiver.mid
                description = self._subscriber.remoteDescription
                for media in _sections(description.sdp if description else ""):
                    if media.get("mid") == mid:
                        return media.get("stream", "")
        return ""


def _sections(sdp: str) -> list[dict[str, str]]:
    sections: list[dict[str, str]] = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            sections.append({})
        elif sections and line.startswith("a=mid:"):
            sections[-1]["mid"] = line[len("a=mid:") :]
        elif sections and line.startswith("a=msid:"):
            sections[-1]["stream"] = line[len("a=msid:") :].split()[0]
    return sections
