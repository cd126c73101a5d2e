"""Dominant-speaker detection of the local SFU, from Opus packet sizes.

Decoding every participant's audio would cost the server far more than forwarding it, and
the SDKs do not all send the RTP audio-level header extension. Opus itself tells enough:
a frame of silence (or near-silence) encodes to a handful of bytes, a frame of speech or a
tone to tens or hundreds. A packet whose payload exceeds :data:`VOICED_BYTES` counts as
voiced; the first participant to send voiced packets becomes the dominant speaker, and
another takes over once the current one has been quiet for :data:`HOLD_SECS`. Each change
is announced to the whole call as the SFU's ``DominantSpeakerChanged``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from getstream.video.rtc.pb.stream.video.sfu.event import events_pb2
from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2

from pipecat_getstream.testing.server.rtp.forwarding import Forwarder
from pipecat_getstream.testing.server.state import SfuSession

#: Opus payloads longer than this many bytes are voiced (silence encodes to ~3-10).
VOICED_BYTES = 24

#: A dominant speaker keeps the floor until quiet for this long.
HOLD_SECS = 0.6


class SpeakerDetector:
    """Tracks one call's dominant speaker from its published microphone packets.

    Args:
        announce: Called with the session that became the dominant speaker.

    """

    def __init__(self, announce: Callable[[SfuSession], None]) -> None:
        self._announce = announce
        self._last_voiced: dict[str, float] = {}
        self._dominant: str | None = None

    @property
    def dominant(self) -> str | None:
        """The dominant speaker's session id, if anyone has spoken."""
        return self._dominant

    def packet(self, session: SfuSession, payload_size: int) -> None:
        """One microphone packet of ``session`` was received."""
        if payload_size <= VOICED_BYTES or session.gone:
            return
        now = time.monotonic()
        self._last_voiced[session.session_id] = now
        current = self._dominant
        if current == session.session_id:
            return
        last = self._last_voiced.get(current) if current is not None else None
        if last is None or now - last > HOLD_SECS:
            self._dominant = session.session_id
            self._announce(session)

    def forget(self, session_id: str) -> None:
        """A session left."""
        self._last_voiced.pop(session_id, None)
        if self._dominant == session_id:
            self._dominant = None


def dominant_speaker_event(session: SfuSession) -> events_pb2.SfuEvent:
    """The SFU event naming ``session`` the dominant speaker."""
    changed = events_pb2.DominantSpeakerChanged(
        user_id=session.user_id, session_id=session.session_id
    )
    return events_pb2.SfuEvent(dominant_speaker_changed=changed)


class CallSpeakers:
    """One :class:`SpeakerDetector` per call, fed by the calls' microphone forwarders.

    Args:
        announce: Called with each session that became its call's dominant speaker.

    """

    def __init__(self, announce: Callable[[SfuSession], None]) -> None:
        self._announce = announce
        self._calls: dict[str, SpeakerDetector] = {}

    def watch(self, session: SfuSession, forwarder: Forwarder) -> None:
        """Listen to a newly published track of ``session`` (microphones only)."""
        if forwarder.track_type != models_pb2.TRACK_TYPE_AUDIO:
            return
        detector = self._calls.setdefault(session.call.cid, SpeakerDetector(self._announce))
        forwarder.on_packet = lambda packet: detector.packet(session, len(packet.payload))

    def forget(self, session: SfuSession) -> None:
        """A session left its call."""
        detector = self._calls.get(session.call.cid)
        if detector is not None:
            detector.forget(session.session_id)
