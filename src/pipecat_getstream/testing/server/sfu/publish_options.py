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

Known difference from the cloud: GetStream's web SDK publishes one encoding per option
of a track type (its ``Publisher.publish`` adds a transceiver for each), so a browser
encodes its camera once per camera codec listed here (three times); the cloud is expected
to list one camera option and to add others with ``ChangePublishOptions`` when a
subscriber needs them. The list stays because the 7.x participants of the tests publish
VP8 and H.264 cameras and the 7.x transport falls back to a VP8 camera beside its screen
share, which a single VP9 option would refuse.

Built from the SDK's own protobuf classes, which are the same in every supported
SDK version (3.3.3 through 7.x).
"""

from __future__ import annotations

from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2

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


def publish_options(video_codec: str = "vp9") -> list[models_pb2.PublishOption]:
    """The publish options of a ``JoinResponse``, like GetStream's cloud sends.

    One option per accepted (track type, codec) pair, each with a distinct ``id``
    and a single layer: Opus audio; camera video in every codec of
    ``VIDEO_CODECS``, ``video_codec`` first; VP8 screen share; Opus screen-share audio.

    Args:
        video_codec: The preferred camera codec, one of ``VIDEO_CODECS`` (any case).

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
    camera = [preferred, *(c for c in VIDEO_CODECS if c != preferred)]
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
