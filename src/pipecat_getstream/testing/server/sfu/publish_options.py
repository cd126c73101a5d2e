"""The ``publish_options`` the local SFU advertises in its ``JoinResponse``.

GetStream's cloud SFU tells each participant, in the join response, which codec
and encoding limits to publish each track type with. SDK 3.x–6.x (aiortc) ignore
the list; SDK 7.x (the Rust core) refuses to publish a track whose codec is not
in it (``MediaError: sfu did not advertise opus for Audio``), matching a local
track to an option by track type and case-insensitive codec name, and copies the
option's codec and id into the ``TrackInfo`` of its ``SetPublisher`` request.

The options here mirror the cloud's shape with one spatial and one temporal layer
(no simulcast, no SVC), since the local SFU forwards one encoding per track:

* audio: Opus (48 kHz, 2 channels in the rtpmap, in-band FEC);
* camera video: VP9 (profile 0) by default, and VP8 and H.264 (constrained
  baseline, packetization mode 1) also accepted; the default comes first, as a
  client that takes the first camera option gets the server's preferred codec;
* screen share: VP8 (what the 7.x SDK publishes screen share with);
* screen-share audio: Opus (the web SDK shares a tab's audio by default, and refuses to
  publish it, "No publish options found for SCREEN_SHARE_AUDIO", without an option).

Which camera options a participant gets (:func:`publish_options_for`) follows what the
SDKs show of the cloud; the cloud's own rule is not documented, so this is inferred:

* GetStream's client SDKs publish one encoding per option of a track type (the web SDK's
  ``Publisher.publish`` adds a transceiver for each), and send a throw-away "generic" publisher
  SDP with their ``JoinRequest`` whose stated purpose is to let the SFU "determine the
  capabilities of the client (codec support, etc.)", plus ``preferred_publish_options`` when
  the app asked for a codec (``call.updatePublishOptions({preferredCodec})``). A cloud that
  listed several camera codecs would make every browser encode its camera several times, so
  a client that names its SDK type (``client_details.sdk.type``: web, React, mobile) gets
  **one** camera option: its preferred codec when it can send it, else the server's
  preference among the codecs of its publisher SDP.
* GetStream's Python SDKs name no SDK type. 3.x-6.x (aiortc) ignore the list; 7.x picks a
  codec per track itself (``LocalVideoTrack.vp8()``/``vp9()``) and refuses a codec the list
  lacks, and its generic SDP offers VP8 and VP9. They get one option per camera codec their
  SDP offers (every codec when it offers none), the preferred one first. Whether the cloud
  lists VP8 cameras for a 7.x client is not known; the project's tests and its 7.x transport
  (a VP8 camera beside a screen share) rely on it here.

Built from the SDK's own protobuf classes, which are the same in every supported
SDK version (3.3.3 through 7.x).
"""

from __future__ import annotations

from getstream.video.rtc.pb.stream.video.sfu.event import events_pb2
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2

from pipecat_getstream.testing.server.sfu.sdp import receive_codecs

#: The camera codecs the local SFU accepts, by their lowercase name.
VIDEO_CODECS: tuple[str, ...] = ("vp9", "vp8", "h264")


def codec(name: str) -> models_pb2.Codec:
    """The ``Codec`` message the local SFU advertises for a codec.

    Payload types and ``fmtp`` lines are the ones common browsers offer, so they
    match what a client's own SDP offer carries.

    Args:
        name: ``"opus"``, ``"vp9"``, ``"vp8"`` or ``"h264"`` (any case).

    Returns:
        The codec with its rtpmap name, payload type, clock rate and ``fmtp``.

    Raises:
        ValueError: For any other codec name.

    """
    key = name.lower()
    if key == "opus":
        return models_pb2.Codec(
            name="opus",
            payload_type=111,
            clock_rate=48000,
            encoding_parameters="2",
            fmtp="minptime=10;useinbandfec=1",
        )
    if key == "vp9":
        return models_pb2.Codec(name="VP9", payload_type=98, clock_rate=90000, fmtp="profile-id=0")
    if key == "vp8":
        return models_pb2.Codec(name="VP8", payload_type=96, clock_rate=90000)
    if key == "h264":
        return models_pb2.Codec(
            name="H264",
            payload_type=102,
            clock_rate=90000,
            fmtp="level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        )
    raise ValueError(f"unsupported codec {name!r}: the local SFU knows opus, vp9, vp8 and h264")


def _video_option(
    option_id: int,
    track_type: int,
    codec_name: str,
    *,
    width: int,
    height: int,
    bitrate: int,
    fps: int,
) -> models_pb2.PublishOption:
    return models_pb2.PublishOption(
        id=option_id,
        track_type=track_type,  # type: ignore[arg-type]
        codec=codec(codec_name),
        bitrate=bitrate,
        fps=fps,
        max_spatial_layers=1,
        max_temporal_layers=1,
        use_single_layer=True,
        video_dimension=models_pb2.VideoDimension(width=width, height=height),
    )


def publish_options(
    video_codec: str = "vp9", cameras: tuple[str, ...] = VIDEO_CODECS
) -> list[models_pb2.PublishOption]:
    """The publish options of a ``JoinResponse``, like GetStream's cloud sends.

    One option per accepted (track type, codec) pair, each with a distinct ``id``
    and a single layer: Opus audio; camera video in each codec of ``cameras``,
    ``video_codec`` first; VP8 screen share; Opus screen-share audio.

    Args:
        video_codec: The preferred camera codec, one of ``VIDEO_CODECS`` (any case).
        cameras: The camera codecs to list (``video_codec`` is always listed).

    Returns:
        New ``PublishOption`` messages (the caller may modify them).

    Raises:
        ValueError: When ``video_codec`` is not one of ``VIDEO_CODECS``.

    """
    preferred = video_codec.lower()
    if preferred not in VIDEO_CODECS:
        raise ValueError(
            f"unsupported camera codec {video_codec!r}: choose one of {', '.join(VIDEO_CODECS)}"
        )
    audio = models_pb2.PublishOption(
        id=0,
        track_type=models_pb2.TRACK_TYPE_AUDIO,
        codec=codec("opus"),
        bitrate=64000,
        audio_bitrate_profiles=[
            models_pb2.AudioBitrate(
                profile=models_pb2.AUDIO_BITRATE_PROFILE_VOICE_STANDARD_UNSPECIFIED,
                bitrate=64000,
            ),
            models_pb2.AudioBitrate(
                profile=models_pb2.AUDIO_BITRATE_PROFILE_VOICE_HIGH_QUALITY, bitrate=128000
            ),
            models_pb2.AudioBitrate(
                profile=models_pb2.AUDIO_BITRATE_PROFILE_MUSIC_HIGH_QUALITY, bitrate=128000
            ),
        ],
    )
    options = [audio]
    camera = [preferred, *(c for c in VIDEO_CODECS if c != preferred and c in cameras)]
    for name in camera:
        options.append(
            _video_option(
                len(options),
                models_pb2.TRACK_TYPE_VIDEO,
                name,
                width=1280,
                height=720,
                bitrate=1_200_000,
                fps=30,
            )
        )
    options.append(
        _video_option(
            len(options),
            models_pb2.TRACK_TYPE_SCREEN_SHARE,
            "vp8",
            width=1920,
            height=1080,
            bitrate=1_500_000,
            fps=15,
        )
    )
    options.append(
        models_pb2.PublishOption(
            id=len(options),
            track_type=models_pb2.TRACK_TYPE_SCREEN_SHARE_AUDIO,
            codec=codec("opus"),
            bitrate=128000,
        )
    )
    return options


def publish_options_for(request: events_pb2.JoinRequest) -> list[models_pb2.PublishOption]:
    """The publish options for one participant, from what its ``JoinRequest`` says.

    See the module's docstring for the rule and the evidence behind it.

    Args:
        request: The participant's join request (its ``client_details``, its generic
            ``publisher_sdp`` and its ``preferred_publish_options``).

    Returns:
        New ``PublishOption`` messages: one camera option for a client SDK that names its
        type, one per camera codec its SDP offers otherwise.

    """
    offered = receive_codecs(request.publisher_sdp)
    can_send = [c for c in VIDEO_CODECS if offered is None or c in offered] or list(VIDEO_CODECS)
    asked = [
        option.codec.name.split("/")[-1].lower()
        for option in getattr(request, "preferred_publish_options", ())
        if option.track_type == models_pb2.TRACK_TYPE_VIDEO and option.HasField("codec")
    ]
    preferred = next((c for c in asked if c in can_send), can_send[0])
    named_sdk = request.client_details.sdk.type != models_pb2.SDK_TYPE_UNSPECIFIED
    return publish_options(preferred, cameras=() if named_sdk else tuple(can_send))
