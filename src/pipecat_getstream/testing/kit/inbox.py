"""What a simulated participant received: audio per speaker, video, events, comings and goings.

The SDK side (on the participant's own thread) writes here; tests read from any thread.
Each container is bounded or guarded by a lock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipecat_getstream.testing.signals import SAMPLE_RATE, Recording, resample

#: The most custom events and video frame sizes kept (the oldest are dropped).
MAX_EVENTS = 10_000


@dataclass(frozen=True)
class Seat:
    """Who joins which call, and where what it receives goes (what a backend is built from)."""

    address: Any
    call_type: str
    call_id: str
    user_id: str
    receive_video: bool
    inbox: Inbox
    microphone: bool = True


@dataclass(frozen=True)
class VideoOut:
    """Video a participant publishes: solid ``rgb`` frames of one size at ``fps``."""

    width: int
    height: int
    rgb: tuple[int, int, int]
    fps: int
    screen_share: bool
    codec: str


class Inbox:
    """Everything one participant received.

    Args:
        record: Keep the received audio (``False``: count the frames only).

    """

    def __init__(self, record: bool = True) -> None:
        self.record = record
        self._lock = threading.Lock()
        self._audio: dict[str, Recording] = {}
        self._video: dict[tuple[str, str], deque[tuple[int, int]]] = {}
        self.events: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)
        self.captions: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)
        self._names: dict[str, str] = {}
        self.joined: deque[str] = deque(maxlen=MAX_EVENTS)
        self.left: deque[str] = deque(maxlen=MAX_EVENTS)
        self.audio_frames = 0
        self.audio_seconds = 0.0
        self.call_ended = threading.Event()

    # ---------------------------------------------------------------- SDK side
    def audio(self, user_id: str, samples: np.ndarray, rate: int) -> None:
        """Record a mono int16 chunk from ``user_id``."""
        with self._lock:
            self.audio_frames += 1
            self.audio_seconds += len(samples) / rate
            if not self.record:
                return
            recording = self._audio.get(user_id)
            if recording is None:
                recording = self._audio[user_id] = Recording(rate)
        if rate != recording.rate:
            samples = resample(samples, rate, recording.rate)
        recording.add(time.monotonic(), samples)

    def video(self, user_id: str, kind: str, width: int, height: int) -> None:
        """Note a decoded video frame (``kind``: ``"video"`` or ``"screen_share"``)."""
        with self._lock:
            sizes = self._video.setdefault((user_id, kind), deque(maxlen=MAX_EVENTS))
        sizes.append((width, height))

    def named(self, user_id: str, name: str | None) -> None:
        """Note the display name the SDK shows for ``user_id`` (empty names are ignored)."""
        if user_id and name:
            with self._lock:
                self._names[user_id] = name

    def caption(self, event: dict[str, Any]) -> None:
        """Keep a ``call.closed_caption`` event's caption (``speaker_id``, ``text``, times)."""
        caption = event.get("closed_caption")
        if isinstance(caption, dict):
            self.captions.append(dict(caption))

    # -------------------------------------------------------------- test side
    def names(self) -> dict[str, str]:
        """Display names seen so far, by user id."""
        with self._lock:
            return dict(self._names)

    def recording(self, user_id: str) -> Recording:
        """The audio heard from ``user_id`` (empty until some arrives)."""
        with self._lock:
            recording = self._audio.get(user_id)
            if recording is None:
                recording = self._audio[user_id] = Recording(SAMPLE_RATE)
            return recording

    def speakers(self) -> list[str]:
        """User ids audio was heard from, in order of first arrival."""
        with self._lock:
            return [user for user, rec in self._audio.items() if rec.seconds > 0]

    def video_sizes(self, user_id: str, kind: str = "video") -> list[tuple[int, int]]:
        """``(width, height)`` of each frame decoded from ``user_id``'s ``kind`` track."""
        with self._lock:
            return list(self._video.get((user_id, kind), ()))


class SeatedBackend:
    """What both SDK backends share: the seat, the inbox and a REST client for events."""

    def __init__(self, seat: Seat) -> None:
        from getstream import AsyncStream

        self.seat, self.user_id, self.inbox = seat, seat.user_id, seat.inbox
        address = seat.address
        self.rest = AsyncStream(
            api_key=address.api_key, api_secret=address.api_secret, base_url=address.base_url
        )
        self.rest_call = self.rest.video.call(seat.call_type, seat.call_id)

    async def send_event(self, payload: dict[str, Any]) -> None:
        """Send a custom event to the call through the REST API."""
        await self.rest_call.send_call_event(user_id=self.user_id, custom=payload)
