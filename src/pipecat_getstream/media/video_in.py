"""Which participants' video frames reach the pipeline: captures, rates and image requests.

Each participant can send two video sources, named as Pipecat names them: ``"camera"``
and ``"screenVideo"`` (screen share). :class:`VideoCaptures` decides, per arriving frame,
whether it is passed on:

- a source captured with ``capture_participant_video`` uses that call's frame rate;
- otherwise a source listed in ``video_in_sources`` uses its ``VideoInSourceParams``;
- otherwise, while nothing was captured explicitly and ``video_in_sources`` is empty,
  every camera frame passes (screen shares are only passed when asked for);
- a pending ``UserImageRequestFrame`` for the participant and source is answered by the
  next frame, whatever the rate (at most :data:`MAX_PENDING_REQUESTS` wait per source).

Rates follow a fixed schedule with a small tolerance, so a 30 fps source sampled at 15 fps
gives 15 fps, not whatever jitter leaves.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from pipecat_getstream.stacks.base import CAMERA, SCREEN_VIDEO

#: Pipecat's source names this transport receives.
VIDEO_SOURCES = (CAMERA, SCREEN_VIDEO)

#: Image requests kept waiting per participant and source; older ones are answered with
#: an error when more arrive.
MAX_PENDING_REQUESTS = 8

#: How early a frame may arrive and still be due (at most half an interval).
JITTER_TOLERANCE_SECS = 0.05

Key = tuple[str, str]  # (participant id, video source)


class _Rate:
    """A frame schedule at ``framerate`` fps (``None``: every frame; 0: none)."""

    __slots__ = ("interval", "due")

    def __init__(self, framerate: float | None):
        self.interval = 1.0 / framerate if framerate else (0.0 if framerate is None else -1.0)
        self.due: float | None = None

    def take(self, now: float) -> bool:
        if self.interval == 0.0:
            return True
        if self.interval < 0:
            return False
        if self.due is not None and now < self.due - min(JITTER_TOLERANCE_SECS, self.interval / 2):
            return False
        late = self.due is None or now - self.due > self.interval
        self.due = (now if late else self.due) + self.interval  # type: ignore[operator]
        return True


def _setting(params: Any, name: str, default: Any) -> Any:
    if isinstance(params, Mapping):
        return params.get(name, default)
    return getattr(params, name, default)


class VideoCaptures:
    """Per-participant, per-source frame selection and pending image requests.

    Args:
        default_sources: ``video_in_sources``: source -> Pipecat's ``VideoInSourceParams``
            or a dict with its ``framerate`` and ``on_request_only`` (Pipecat 0.0.108 has
            no such model, so there the dict is all there is).
        clock: Monotonic clock in seconds (tests pass a fake one).

    """

    def __init__(
        self,
        default_sources: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._defaults: dict[str, float | None] = {}
        for source, params in (default_sources or {}).items():
            on_request = bool(_setting(params, "on_request_only", False))
            self._defaults[source] = 0 if on_request else _setting(params, "framerate", None)
        self._explicit: dict[Key, float | None] = {}
        self._rates: dict[Key, _Rate] = {}  # explicit captures
        self._default_rates: dict[Key, _Rate] = {}  # the others, while the rules hold
        self._requests: dict[Key, deque[Any]] = {}
        self._clock = clock

    def capture(self, participant_id: str, source: str, framerate: float | None) -> None:
        """Pass on ``source`` of ``participant_id`` at ``framerate`` fps.

        ``None`` passes every frame, 0 only frames that answer requests. This takes
        precedence over ``video_in_sources``.
        """
        key = (participant_id, source)
        self._explicit[key] = framerate
        self._rates[key] = _Rate(framerate)
        self._default_rates.clear()  # "every camera" no longer holds

    def add_request(self, participant_id: str, source: str, request: Any) -> list[Any]:
        """Queue an image request; returns requests pushed out of a full queue."""
        queue = self._requests.setdefault((participant_id, source), deque())
        queue.append(request)
        dropped = []
        while len(queue) > MAX_PENDING_REQUESTS:
            dropped.append(queue.popleft())
        return dropped

    def sample(self, participant_id: str, source: str) -> tuple[bool, Any | None]:
        """For a frame that just arrived: ``(pass it on, the request it answers or None)``."""
        key = (participant_id, source)
        queue = self._requests.get(key)
        if queue:
            request = queue.popleft()
            for rates in (self._rates, self._default_rates):
                if key in rates:
                    rates[key].due = None  # a fresh schedule after an answered request
            return True, request
        rate = self._rates.get(key) or self._default_rates.get(key)
        if rate is None:
            framerate = self._rate_for(source)
            if framerate == -1:
                return False, None
            rate = self._default_rates[key] = _Rate(framerate)
        return rate.take(self._clock()), None

    def take_requests(self, participant_id: str, source: str | None = None) -> list[Any]:
        """Remove and return the requests waiting on a participant (one source, or all)."""
        taken: list[Any] = []
        for key in [k for k in self._requests if k[0] == participant_id]:
            if source is None or key[1] == source:
                taken.extend(self._requests.pop(key))
        return taken

    def forget(self, participant_id: str) -> list[Any]:
        """A participant left: drop their schedules; returns their waiting requests."""
        for key in [k for k in self._default_rates if k[0] == participant_id]:
            del self._default_rates[key]
        return self.take_requests(participant_id)

    def clear(self) -> list[Any]:
        """Forget every schedule; returns every waiting request."""
        taken = [r for queue in self._requests.values() for r in queue]
        self._requests.clear()
        self._rates = {k: _Rate(v) for k, v in self._explicit.items()}
        self._default_rates.clear()
        return taken

    def _rate_for(self, source: str) -> float | None:
        """The default rate of a source not captured explicitly (-1: not passed on)."""
        if source in self._defaults:
            return self._defaults[source]
        if source == CAMERA and not self._defaults and not self._explicit:
            return None
        return -1
