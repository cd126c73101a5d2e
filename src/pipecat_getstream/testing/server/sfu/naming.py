"""How the SFU names the streams it forwards (the ``a=msid`` of a subscriber offer).

GetStream's cloud names each forwarded stream ``<track_lookup_prefix>:TRACK_TYPE_<NAME>:<tag>``
(the track type's protobuf *name*, then a short tag of its own) and gives the track a UUID of
its own. The evidence, from the SDKs written against the cloud:

* The web SDK (``@stream-io/video-client`` 1.60, ``Subscriber.handleOnTrack``) splits the
  stream id on ``:``, takes the first part as the participant's ``trackLookupPrefix`` and the
  second as the track type, which it maps by name only (``toTrackType``: ``'TRACK_TYPE_VIDEO'``
  and the other three names); any other value is dropped with "Unknown track type". Its
  handler documents the stream id with the example
  ``e3f6aaf8-b03d-4911-be36-83f47d37a76a:TRACK_TYPE_VIDEO``, and its SDP tests hold an offer
  from a cloud SFU (ice-lite, public address) whose sections read
  ``a=msid:<prefix>:TRACK_TYPE_AUDIO:<tag> <uuid>``, with the stream id as the ``cname``.
* SDK 3.x–6.x (``getstream/video/rtc/participants.py``) find a track's participant from the
  prefix of its track id when that has a ``:``, else from the prefix of the stream id it
  records for each track id of the offer (``parse_track_stream_mapping``): a UUID track id
  is attributed through its stream id.
* SDK 7.x (the Rust core's ``parse_msid``) splits the stream id at its first ``:`` and parses
  the rest as a track type *number*; failing that (as with the cloud's names) it takes the
  type from the media kind, so a screen share arrives as ``TrackType.VIDEO``. The transport
  tells them apart itself (``stacks/rust``).

The local server sends the cloud's form, so every client meets here what it meets there.
"""

from __future__ import annotations

import secrets
import string
import uuid

from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2

_TAG_ALPHABET = string.ascii_letters + string.digits


def stream_id(track_lookup_prefix: str, track_type: int) -> str:
    """The msid stream id of a forwarded track, in the cloud's form.

    Args:
        track_lookup_prefix: The publisher's ``Participant.track_lookup_prefix``.
        track_type: The ``models_pb2.TrackType`` value of the track.

    Returns:
        ``<prefix>:TRACK_TYPE_<NAME>:<tag>`` with a random two-character tag.

    """
    name = models_pb2.TrackType.Name(track_type)  # type: ignore[arg-type]
    tag = "".join(secrets.choice(_TAG_ALPHABET) for _ in range(2))
    return f"{track_lookup_prefix}:{name}:{tag}"


def track_id() -> str:
    """The msid track id of a forwarded track: a new UUID."""
    return str(uuid.uuid4())


def parse_stream_id(value: str) -> tuple[str, int | None]:
    """Read a stream id as the web SDK does: the prefix and the named track type.

    Returns:
        ``(prefix, track type)``; the type is ``None`` unless the second part is one of the
        ``TRACK_TYPE_*`` names.

    """
    prefix, _, rest = value.partition(":")
    name = rest.split(":", 1)[0]
    try:
        return prefix, int(models_pb2.TrackType.Value(name))
    except ValueError:
        return prefix, None
