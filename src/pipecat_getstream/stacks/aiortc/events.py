"""The aiortc-era SDK's event shapes (protobuf messages), normalised for the registry."""

from __future__ import annotations

from typing import Any

from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2

from pipecat_getstream.stacks.base import TrackKind

_KIND_BY_TRACK_TYPE: dict[int, TrackKind] = {
    models_pb2.TRACK_TYPE_AUDIO: "audio",
    models_pb2.TRACK_TYPE_VIDEO: "video",
    models_pb2.TRACK_TYPE_SCREEN_SHARE: "screen_share",
}


def track_kind(track_type: int) -> TrackKind | None:
    """Map the SDK's ``TrackType`` to a track kind (``None`` for screen-share audio)."""
    return _KIND_BY_TRACK_TYPE.get(track_type)


_SCREEN_SHARE_NAMES = ("TRACK_TYPE_SCREEN_SHARE", str(models_pb2.TRACK_TYPE_SCREEN_SHARE))


def is_screen_share(*ids: str) -> bool:
    """Whether a forwarded track's msid ids name it a screen share.

    The SFU names a track in its ``a=msid`` line; the second ``:``-separated field of an id
    is the track type. GetStream's cloud names the stream ``<prefix>:TRACK_TYPE_<NAME>:<tag>``
    and gives the track a UUID (what its web SDK reads; see the local server's
    ``sfu/naming.py`` for the evidence), so the stream id says it: SDK 3.x-6.x keep it per
    track id (``participants_state.get_stream_id_from_track_id``). Earlier local servers
    put the name in the track id and the number in the stream id; both still read.

    Args:
        *ids: The track's msid stream id and track id, in any order ("" when unknown).

    """
    for value in ids:
        parts = value.split(":")
        if len(parts) > 1 and parts[1] in _SCREEN_SHARE_NAMES:
            return True
    return False


def sdk_event_inputs(name: str, args: tuple[Any, ...]) -> tuple[str, str, str, str] | None:
    """Normalise one SDK ConnectionManager event for the registry.

    Args:
        name: The SDK event name.
        args: The event's arguments as the SDK emitted them; ``track_added`` may carry the
            track's msid stream id as a fourth.

    Returns:
        ``(change, user_id, session_id, kind)`` where change is ``joined``, ``left``,
        ``subscribed`` or ``unsubscribed`` (kind is ``""`` where it does not apply), or
        ``None`` for events the registry does not track.

    """
    if name in ("participant_joined", "participant_left") and args:
        participant = getattr(args[0], "participant", None)
        if participant is None:
            return None
        change = "joined" if name == "participant_joined" else "left"
        return change, participant.user_id, participant.session_id, ""
    if name == "track_added" and len(args) >= 3:
        track_id, kind, user = args[0], args[1], args[2]
        stream_id = str(args[3]) if len(args) > 3 and args[3] else ""
        if user is None or kind not in ("audio", "video"):
            return None
        if kind == "video" and is_screen_share(str(track_id), stream_id):
            kind = "screen_share"
        return "subscribed", user.user_id, user.session_id, kind
    if name == "track_unpublished" and args:
        event = args[0]
        kind = track_kind(getattr(event, "type", 0))
        if kind is None:
            return None
        return "unsubscribed", event.user_id, event.session_id, kind
    return None
