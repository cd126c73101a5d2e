"""Telling a participant's camera from their screen share on SDK 7.x.

GetStream's cloud names a forwarded stream ``<prefix>:TRACK_TYPE_<NAME>:<tag>`` (what its web
SDK reads; the local server's ``sfu/naming.py`` holds the evidence). SDK 7.x's Rust core
parses the part after the prefix as a track type *number* and, failing that, takes the type
from the media kind (``parse_msid`` in its subscription runtime), so under the cloud's naming
a screen share reaches ``Call.tracks()`` as ``TrackType.VIDEO``. The ``RemoteTrack`` carries
nothing else of its msid: only its participant, whose ``published_tracks`` the SFU keeps.

:class:`VideoKinds` decides what a ``VIDEO`` track is from what the SDK does say: the track
types the participant publishes, the order the SFU announced them in (``TrackPublished``),
which of them the bot subscribes to and which it already receives. A track whose type the SDK
read as a number (``SCREEN_SHARE``) is taken as it is. For participants that already publish
both when the bot subscribes there is no order to go by;
:mod:`pipecat_getstream.stacks.rust.subscriptions` then lets their cameras arrive first.
"""

from __future__ import annotations

import getstream_rtc as rtc

from pipecat_getstream.stacks.base import TrackKind

#: The kinds a remote video track can be.
VIDEO_KINDS: tuple[TrackKind, ...] = ("video", "screen_share")

_VIDEO_KINDS: dict[TrackKind, rtc.TrackType] = {
    "video": rtc.TrackType.VIDEO,
    "screen_share": rtc.TrackType.SCREEN_SHARE,
}


class VideoKinds:
    """The publication order of each participant's camera and screen share."""

    def __init__(self) -> None:
        self._order: dict[str, list[TrackKind]] = {}  # session id -> kinds, oldest first

    def published(self, session_id: str, kind: TrackKind) -> None:
        """Note a ``TrackPublished`` of a camera or screen share (the newest goes last)."""
        if kind in _VIDEO_KINDS:
            order = self._order.setdefault(session_id, [])
            if kind in order:
                order.remove(kind)
            order.append(kind)

    def forget(self, session_id: str) -> None:
        """Drop what is known of a session that left."""
        self._order.pop(session_id, None)

    def resolve(
        self,
        track_type: rtc.TrackType,
        session_id: str,
        published: list[rtc.TrackType],
        wanted: set[TrackKind],
        held: set[TrackKind],
    ) -> TrackKind:
        """What a remote video track is.

        Args:
            track_type: The type the SDK gave the track.
            session_id: The publisher's session.
            published: The track types the publisher has published (its participant).
            wanted: The video kinds the bot subscribes to.
            held: The video kinds the bot already receives from this session.

        Returns:
            ``"screen_share"`` for a track the SDK typed so; for a ``VIDEO`` one, the only
            kind the participant publishes and the bot wants, else the one of two it does not
            hold yet, else by order: with neither held the one published first (the SFU
            forwards a track once it is published), with both held the one republished last.

        """
        if track_type == rtc.TrackType.SCREEN_SHARE:
            return "screen_share"
        candidates = [k for k, t in _VIDEO_KINDS.items() if k in wanted and t in published]
        if len(candidates) < 2:
            return candidates[0] if candidates else "video"
        fresh = [k for k in candidates if k not in held]
        if len(fresh) == 1:
            return fresh[0]
        order = [k for k in self._order.get(session_id, []) if k in candidates]
        if not order:
            return "video"
        return order[0] if fresh else order[-1]
