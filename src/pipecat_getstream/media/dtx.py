"""Silence on the clock where a participant's audio pauses (DTX gaps), per participant.

With DTX (discontinuous transmission, which GetStream's call settings ask for), a browser
stops sending audio packets while its user is silent: one comfort-noise packet every ~400 ms,
nothing in between. Both SDK generations hand the transport only what arrives, so a pipeline
fed per participant (``audio_in_user_tracks=True``) would see a hole where the end of a
sentence is, and its VAD or STT would not notice the user stopped talking until they made
a sound again.

:class:`GapFiller` keeps one timeline per participant: the instant their newest audio ended,
which is when it arrived (a sender sends a packet once it has captured the packet's audio,
so at real time its next packet is due one frame after the newest one arrived). Once that
instant is more than ``grace_secs`` in the past, silence is due: as many whole frames as fit
between the end of the audio and now (so a consumer sees as much silence as wall time
passed, whatever the grace, and each frame when the participant's own silence would have
arrived), then one frame per ``frame_secs`` while nothing arrives. Real audio is never held
back or replaced: it passes on as it arrives and moves the timeline on; the filler only adds
frames of zeros in between; a packet that arrives while silence is being generated (DTX's
comfort noise) follows that silence in the stream, so it moves the timeline on by its own
length (at most one frame past the clock, until the next packet). Filling stops when the
participant is forgotten (they left or unpublished) or after ``max_fill_secs`` without a
single packet, which DTX never causes (it sends a packet every ~400 ms).

The timeline is the newest arrival, not the sum of the audio received (nor the arrival plus
the packet's duration, which put every frame of silence one frame late): a burst of late
packets (a network or event-loop stall catching up, or packets SDK 7.x recovers by NACK after
a loss and hands over together) pushed a summed timeline ahead of the clock by the burst's
length for as long as audio kept flowing, and the silence of the next gap came that much late
(up to 200 ms, measured on 7.x; see ``bench/dtx_turn_end.py``).

The logic is pure and takes a clock, so it is unit-tested exactly; :func:`gap_silence` is
the loop the input processor runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

#: Duration of one generated silence frame (one WebRTC audio frame).
FRAME_SECS = 0.02

#: How late audio may be before silence is generated: longer than the jitter of packets
#: and of the event loop, shorter than any VAD's stop time (Pipecat's default is 0.2 s).
DEFAULT_GRACE_SECS = 0.1

#: Silence generated at most after the last packet of a participant. DTX sends a packet
#: every ~400 ms, so a longer gap means the audio stopped (muted, or a lost network).
DEFAULT_MAX_FILL_SECS = 5.0

#: Tolerance of time comparisons (sums of frame durations are not exact in floating point).
_EPSILON = 1e-6

#: How often the loop looks for due silence when no participant is being timed.
_IDLE_POLL_SECS = 0.1


@dataclass
class _Timeline:
    end: float  # when the newest audio ended (its arrival), or the silence generated since
    last_packet: float  # when real audio last arrived
    filling: bool = False  # silence is being generated (the grace has passed)


class GapFiller:
    """Says how much silence each participant's stream needs to stay continuous.

    Args:
        sample_rate: The rate of the stream (and of the silence), in Hz.
        frame_secs: Duration of one generated frame.
        grace_secs: How late audio may be before silence is generated.
        max_fill_secs: Silence generated at most after a participant's last packet.
        clock: Monotonic clock in seconds (tests pass a fake one).

    Raises:
        ValueError: On a non-positive rate or frame, a negative grace, or a limit shorter
            than the grace.

    """

    def __init__(
        self,
        sample_rate: int,
        frame_secs: float = FRAME_SECS,
        grace_secs: float = DEFAULT_GRACE_SECS,
        max_fill_secs: float = DEFAULT_MAX_FILL_SECS,
        clock: Callable[[], float] = time.monotonic,
    ):
        if sample_rate <= 0 or frame_secs <= 0:
            raise ValueError("sample_rate and frame_secs must be positive")
        if grace_secs < 0 or max_fill_secs < grace_secs:
            raise ValueError("need 0 <= grace_secs <= max_fill_secs")
        self.sample_rate = sample_rate
        self.frame_samples = max(1, round(sample_rate * frame_secs))
        self._frame = self.frame_samples / sample_rate
        self._grace = grace_secs
        self._max_fill = max_fill_secs
        self._clock = clock
        self._timelines: dict[str, _Timeline] = {}
        self.generated_frames = 0

    @property
    def participants(self) -> list[str]:
        """Participants being timed (heard, and not forgotten or given up on)."""
        return list(self._timelines)

    def heard(self, participant_id: str, samples: int) -> None:
        """Record that ``samples`` of a participant's real audio arrived now (0: no audio)."""
        if samples <= 0:
            return
        now = self._clock()
        line = self._timelines.get(participant_id)
        if line is None:
            self._timelines[participant_id] = _Timeline(end=now, last_packet=now)
            return
        # The audio ended now, whatever its length (see the module doc); after generated
        # silence it follows that silence in the stream instead.
        line.end = max(now, line.end + samples / self.sample_rate) if line.filling else now
        line.last_packet, line.filling = now, False

    def forget(self, participant_id: str) -> None:
        """Stop generating silence for a participant (they left or unpublished)."""
        self._timelines.pop(participant_id, None)

    def clear(self) -> None:
        """Forget everyone."""
        self._timelines.clear()

    def due(self) -> list[tuple[str, int]]:
        """Silence due now: ``(participant, frames)`` pairs; they count as generated."""
        now = self._clock()
        out: list[tuple[str, int]] = []
        for participant_id, line in list(self._timelines.items()):
            limit = line.last_packet + self._max_fill
            if not line.filling and now - line.end < self._grace - _EPSILON:
                continue
            upto = min(now, limit)
            frames = int((upto - line.end) / self._frame + _EPSILON)
            if frames > 0:
                line.filling = True
                line.end += frames * self._frame
                self.generated_frames += frames
                out.append((participant_id, frames))
            if now >= limit:
                del self._timelines[participant_id]  # gave up: no packet for too long
        return out

    def next_due_at(self) -> float | None:
        """When silence may next be due (``None``: nobody is being timed)."""
        times = [
            line.end + (self._frame if line.filling else max(self._grace, self._frame))
            for line in self._timelines.values()
        ]
        return min(times) if times else None


async def gap_silence(
    filler: GapFiller, clock: Callable[[], float] = time.monotonic
) -> AsyncIterator[list[tuple[str, int]]]:
    """Yield the silence that becomes due, as it becomes due, forever.

    Args:
        filler: The filler to poll.
        clock: Monotonic clock in seconds (the filler's).

    Yields:
        Non-empty lists of ``(participant, frames)`` pairs.

    """
    while True:
        due = filler.due()
        if due:
            yield due
        at = filler.next_due_at()
        wait = _IDLE_POLL_SECS if at is None else at - clock()
        await asyncio.sleep(min(max(wait, 0.001), _IDLE_POLL_SECS))
