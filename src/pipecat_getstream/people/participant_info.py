"""Who is in the call: a typed view of the SFU's ``Participant``, on every SDK stack.

Both SDK generations describe a participant with the fields of the SFU's ``Participant``
protobuf: 3.x-6.x hand out the protobuf message itself, 7.x a ``RemoteParticipant`` with
the same field names (track types as ``TrackType`` values that convert to the protobuf
integers, ``custom`` as a dict instead of a ``Struct``). :func:`participant_info` reads
either into one immutable :class:`ParticipantInfo`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

#: The SFU's ``TrackType`` values, named as Pipecat names track sources.
TRACK_NAMES: dict[int, str] = {
    1: "microphone",
    2: "camera",
    3: "screenVideo",
    4: "screenAudio",
}


@dataclass(frozen=True)
class ParticipantInfo:
    """One remote participant, as the SFU last described them.

    Attributes:
        user_id: The participant's GetStream user id (the transport's ``participant_id``).
        session_id: The SFU session of their most recent connection.
        name: Display name (the user's ``name``; empty when none was set).
        image: Avatar URL (empty when none was set).
        roles: Call roles, e.g. ``("user",)`` or ``("host",)``.
        custom: The user's custom data.
        published_tracks: What they publish now: ``"microphone"``, ``"camera"``,
            ``"screenVideo"``, ``"screenAudio"``.
        speaking: Whether they are the call's dominant speaker now, per the SFU's
            ``DominantSpeakerChanged`` events.

    """

    user_id: str
    session_id: str
    name: str = ""
    image: str = ""
    roles: tuple[str, ...] = ()
    custom: dict[str, Any] = field(default_factory=dict)
    published_tracks: tuple[str, ...] = ()
    speaking: bool = False

    def with_speaking(self, speaking: bool) -> ParticipantInfo:
        """A copy with ``speaking`` set."""
        return self if self.speaking == speaking else replace(self, speaking=speaking)


def _custom_dict(custom: Any) -> dict[str, Any]:
    if isinstance(custom, dict):
        return dict(custom)
    if custom is not None and hasattr(custom, "fields"):  # a protobuf Struct
        from google.protobuf.json_format import MessageToDict

        converted: dict[str, Any] = MessageToDict(custom)
        return converted
    return {}


def participant_info(participant: Any) -> ParticipantInfo:
    """Read an SDK participant (protobuf ``Participant`` or 7.x ``RemoteParticipant``).

    Args:
        participant: The SDK's participant object.

    Returns:
        The participant as a :class:`ParticipantInfo`.

    """
    tracks: list[str] = []
    for track_type in getattr(participant, "published_tracks", ()) or ():
        name = TRACK_NAMES.get(int(track_type))
        if name is not None and name not in tracks:
            tracks.append(name)
    return ParticipantInfo(
        user_id=str(getattr(participant, "user_id", "") or ""),
        session_id=str(getattr(participant, "session_id", "") or ""),
        name=str(getattr(participant, "name", "") or ""),
        image=str(getattr(participant, "image", "") or ""),
        roles=tuple(str(role) for role in getattr(participant, "roles", ()) or ()),
        custom=_custom_dict(getattr(participant, "custom", None)),
        published_tracks=tuple(tracks),
        speaking=bool(getattr(participant, "is_dominant_speaker", False)),
    )


class CallPeople:
    """The latest :class:`ParticipantInfo` of each remote participant, and the speaker.

    Like :class:`~pipecat_getstream.people.registry.ParticipantRegistry`, methods return the
    transport events a change causes and never call out.

    Args:
        self_user_id: The bot's user id (its own sessions are not participants).

    """

    def __init__(self, self_user_id: str) -> None:
        self._self = self_user_id
        self._info: dict[str, ParticipantInfo] = {}
        self._dominant: str | None = None

    def seen(
        self, info: ParticipantInfo, changed: bool, present: bool
    ) -> list[tuple[str, tuple[Any, ...]]]:
        """The SDK described a participant.

        Args:
            info: What it said.
            changed: It was an update (profile, published tracks), not a join.
            present: The participant is in the call (their join was reported).

        Returns:
            ``on_participant_updated`` for a change of someone present, else nothing.

        """
        if not info.user_id or info.user_id == self._self:
            return []
        if info.speaking:
            self._dominant = info.user_id
        previous = self._info.get(info.user_id)
        self._info[info.user_id] = info
        if changed and present and previous != info:
            return [("on_participant_updated", (info.user_id,))]
        return []

    def speaker(self, user_id: str) -> list[tuple[str, tuple[Any, ...]]]:
        """The SFU named ``user_id`` the dominant speaker (the bot's own id included)."""
        if not user_id or user_id == self._dominant:
            return []
        self._dominant = user_id
        return [("on_active_speaker_changed", (user_id,))]

    def get(self, user_id: str) -> ParticipantInfo | None:
        """The participant's latest details, ``speaking`` as of now."""
        info = self._info.get(user_id)
        return info.with_speaking(user_id == self._dominant) if info is not None else None

    def forget(self, user_id: str) -> None:
        """The participant left."""
        self._info.pop(user_id, None)
        if self._dominant == user_id:
            self._dominant = None

    def clear(self) -> None:
        """Everyone is gone."""
        self._info.clear()
        self._dominant = None


def check_user_name(value: object) -> str | None:
    """Validate the bot's display name: ``None``, or 1-255 printable characters.

    Raises:
        GetstreamConfigError: For anything else.

    """
    from pipecat_getstream.errors import GetstreamConfigError

    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise GetstreamConfigError(
            f"user_name must be a non-empty string of at most 255 characters, got {value!r}"
        )
    if not value.isprintable():
        raise GetstreamConfigError("user_name must not contain control characters")
    return value
