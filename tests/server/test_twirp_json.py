"""Twirp in protobuf JSON, CORS, audio without a subscription: the SFU as the web SDK meets it.

A participant speaking as GetStream's web SDK does (``websdk_peer``) and a real SDK
participant of the installed generation share a call; each must hear the other.
"""

from __future__ import annotations

import re
import uuid

import httpx
import numpy as np
import pytest

from pipecat_getstream.testing import LocalStreamServer
from pipecat_getstream.testing.signals import dominant_frequency

from .sdk_kit import SdkKit, wait_for
from .websdk_peer import ORIGIN, SERVICE, WebSdkPeer, read_stream_id

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def call_id() -> str:
    return f"json-{uuid.uuid4().hex[:10]}"


async def test_a_json_twirp_peer_and_an_sdk_participant_hear_each_other(
    local_server: LocalStreamServer, sdk: SdkKit
) -> None:
    cid = call_id()
    async with sdk.participant(cid, "alice") as alice, WebSdkPeer(local_server, cid, "web") as web:
        tone = await alice.publish_audio()
        answer = await web.publish_tone(880, dtx=True)
        assert answer["session_id"] == web.session_id and "a=recvonly" in answer["sdp"]
        # The default call settings enable Opus DTX, and the track asked for it.
        assert re.search(r"a=fmtp:\d+ .*usedtx=1", answer["sdp"]), answer["sdp"]

        # The web peer never subscribed: alice's microphone comes anyway, named as the
        # web SDK reads it (her lookup prefix, then TRACK_TYPE_AUDIO).
        await tone.write_tone(440, 4.0)
        assert await wait_for(lambda: bool(web.streams), timeout=15)
        stream = web.streams[0]
        assert read_stream_id(stream) == (web.prefixes["alice"], "TRACK_TYPE_AUDIO")

        def last_second() -> np.ndarray:
            chunks = web.audio.get(stream) or [np.zeros(0, np.int16)]
            return np.concatenate(chunks)[-48000:].astype(np.float64)

        def tone_heard() -> bool:
            samples = last_second()
            return len(samples) == 48000 and float(np.sqrt(np.mean(samples**2))) > 2000

        assert await wait_for(tone_heard, timeout=15)
        assert abs(dominant_frequency(last_second(), 48000) - 440) <= 10

        # Alice hears the web peer's tone, attributed to it.
        assert await wait_for(lambda: len(alice.audio.loud_since(0.0, "web")) > 50, timeout=15)
        heard = np.concatenate([s for _, s in alice.audio.loud_since(0.0, "web")[10:60]])
        assert abs(dominant_frequency(heard, alice.audio.rate) - 880) <= 10


async def test_json_answers_and_errors(local_server: LocalStreamServer) -> None:
    async with WebSdkPeer(local_server, call_id(), "web") as web:
        # A known session: an empty JSON answer (no error).
        ok = await web.twirp("UpdateSubscriptions", {"session_id": web.session_id, "tracks": []})
        assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/json")
        assert "error" not in ok.json()

        # An unknown session: the SFU's error inside the response message, as JSON.
        unknown = await web.twirp("UpdateSubscriptions", {"session_id": "nobody"})
        assert unknown.json()["error"]["code"] == "ERROR_CODE_PARTICIPANT_NOT_FOUND"

        # Not the request's JSON shape: Twirp's own error.
        bad = await web.twirp("UpdateSubscriptions", {"session_id": 5, "tracks": "x"})
        assert bad.status_code == 400 and bad.json()["code"] == "malformed"


async def test_dtx_is_negotiated_only_for_a_track_that_asks(
    local_server: LocalStreamServer,
) -> None:
    async with WebSdkPeer(local_server, call_id(), "web") as web:
        answer = await web.publish_tone(880, dtx=False)
        assert "opus/48000" in answer["sdp"] and "usedtx" not in answer["sdp"]


async def test_twirp_answers_a_page_on_another_origin(local_server: LocalStreamServer) -> None:
    async with WebSdkPeer(local_server, call_id(), "web") as web:
        url = f"{local_server.base_url}/twirp/{SERVICE}/UpdateSubscriptions"
        async with httpx.AsyncClient(timeout=5) as http:
            preflight = await http.options(
                url,
                headers={
                    "Origin": ORIGIN,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type,x-stream-client",
                },
            )
        assert preflight.status_code in (200, 204)
        assert "x-stream-client" in preflight.headers["access-control-allow-headers"].lower()
        for body in ({"session_id": web.session_id}, {"session_id": 5}):  # answer and error
            reply = await web.twirp("UpdateSubscriptions", body)
            assert reply.headers["access-control-allow-origin"] == ORIGIN
