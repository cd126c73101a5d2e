"""The local SFU's publish options per client (``sfu/publish_options.py``)."""

from __future__ import annotations

import pytest
from getstream.video.rtc.pb.stream.video.sfu.event import events_pb2
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2

from pipecat_getstream.testing.server.sfu.publish_options import (
    publish_options,
    publish_options_for,
)

#: A generic publisher SDP like SDK 7.x sends with its join (VP8 and VP9 video, Opus audio).
SDK7_SDP = (
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 98\r\nc=IN IP4 0.0.0.0\r\na=sendonly\r\na=mid:0\r\n"
    "a=rtpmap:96 VP8/90000\r\na=rtpmap:98 VP9/90000\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=sendonly\r\na=mid:1\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
)
#: A browser's generic publisher SDP offers all three camera codecs.
BROWSER_SDP = SDK7_SDP.replace("96 98\r\n", "96 98 102\r\n").replace(
    "a=rtpmap:98 VP9/90000\r\n", "a=rtpmap:98 VP9/90000\r\na=rtpmap:102 H264/90000\r\n"
)


def cameras(options: list[models_pb2.PublishOption]) -> list[str]:
    return [o.codec.name for o in options if o.track_type == models_pb2.TRACK_TYPE_VIDEO]


def web_request(preferred: str | None = None) -> events_pb2.JoinRequest:
    request = events_pb2.JoinRequest(publisher_sdp=BROWSER_SDP)
    request.client_details.sdk.type = models_pb2.SDK_TYPE_PLAIN_JAVASCRIPT
    if preferred:
        request.preferred_publish_options.append(
            models_pb2.PublishOption(
                track_type=models_pb2.TRACK_TYPE_VIDEO, codec=models_pb2.Codec(name=preferred)
            )
        )
    return request


def test_a_web_client_gets_one_camera_option_in_the_servers_codec():
    options = publish_options_for(web_request())
    assert cameras(options) == ["VP9"]
    kinds = [o.track_type for o in options]
    assert kinds.count(models_pb2.TRACK_TYPE_AUDIO) == 1
    assert kinds.count(models_pb2.TRACK_TYPE_SCREEN_SHARE) == 1
    assert kinds.count(models_pb2.TRACK_TYPE_SCREEN_SHARE_AUDIO) == 1
    assert len({o.id for o in options}) == len(options)


@pytest.mark.parametrize("asked, expected", [("vp8", "VP8"), ("H264", "H264"), ("av1", "VP9")])
def test_a_web_clients_preferred_codec_is_used_when_it_can_send_it(asked, expected):
    assert cameras(publish_options_for(web_request(asked))) == [expected]


def test_a_python_sdk_gets_every_camera_codec_its_sdp_offers_preferred_first():
    request = events_pb2.JoinRequest(publisher_sdp=SDK7_SDP)  # no SDK type, as SDK 7.x sends
    assert cameras(publish_options_for(request)) == ["VP9", "VP8"]


def test_without_an_sdp_every_camera_codec_is_listed():
    assert cameras(publish_options_for(events_pb2.JoinRequest())) == ["VP9", "VP8", "H264"]


def test_an_unknown_preferred_codec_is_refused():
    with pytest.raises(ValueError, match="unsupported camera codec"):
        publish_options("av1")
