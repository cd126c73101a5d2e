"""Watch every frame a bot's audio track hands to aiortc, in the current process.

A track's ``recv()`` is called once per 20 ms by aiortc's RTP sender and returns silence when
nothing is queued. Wrapping it (the SDK's ``AudioStreamTrack`` for the reference, this
project's ``PcmAudioTrack`` on its aiortc stack) tells, at the sending end, when speech left
the bot and whether the bot starved its track. Each track is attributed to the bot whose
context created it (a context variable set around the bot's pipeline task, inherited by every
task the pipeline starts).
"""

from __future__ import annotations

import contextvars
import time
from typing import Any

import numpy as np

from bench.signals import LOUD, FrameWatch

#: Which bot (index) the code running now belongs to; ``-1`` outside any bot.
current_owner: contextvars.ContextVar[int] = contextvars.ContextVar("bench_owner", default=-1)

#: Owner index -> watches of the tracks it created (one per published audio track).
watches: dict[int, list[FrameWatch]] = {}

_installed = False


def frame_is_loud(frame: Any) -> bool:
    """Whether an ``av.AudioFrame`` holds speech (peak above :data:`LOUD`)."""
    samples = np.frombuffer(bytes(frame.planes[0]), dtype=np.int16)
    return bool(samples.size) and int(np.max(np.abs(samples[::4].astype(np.int32)))) > LOUD


def _track_classes() -> list[type]:
    """The audio track classes a bot may publish on the aiortc stack, in this process.

    The reference publishes the SDK's ``AudioStreamTrack``; this project's aiortc stack
    publishes its own ``PcmAudioTrack`` (not importable on SDK 7.x, nor in the reference's
    environment, where it is simply not there).
    """
    from getstream.video.rtc.audio_track import AudioStreamTrack

    classes: list[type] = [AudioStreamTrack]
    try:
        from pipecat_getstream.stacks.aiortc.tracks import PcmAudioTrack
    except ImportError:
        return classes
    return [*classes, PcmAudioTrack]


def _wrap(cls: type) -> None:
    original_init = cls.__init__
    original_recv = cls.recv  # type: ignore[attr-defined]

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        watch = FrameWatch()
        self._bench_watch = watch
        watches.setdefault(current_owner.get(), []).append(watch)

    async def recv(self: Any) -> Any:
        frame = await original_recv(self)
        watch = getattr(self, "_bench_watch", None)
        if watch is not None:
            watch.see(time.monotonic(), frame_is_loud(frame))
        return frame

    cls.__init__ = init  # type: ignore[method-assign]
    cls.recv = recv  # type: ignore[attr-defined]


def install() -> None:
    """Wrap ``__init__`` and ``recv`` of every bot audio track class (idempotent)."""
    global _installed
    if _installed:
        return
    for cls in _track_classes():
        _wrap(cls)
    _installed = True


def summary(owner: int, reset: bool = False) -> dict[str, Any]:
    """Onsets, last speech, underruns and frame count of ``owner``'s tracks."""
    out: dict[str, Any] = {
        "onsets": [],
        "last_loud": None,
        "underruns": 0,
        "starved_frames": 0,
        "frames": 0,
        "loud_frames": 0,
        "underrun_at": [],
    }
    for watch in watches.get(owner, []):
        out["onsets"] += watch.onsets
        if watch.last_loud is not None:
            out["last_loud"] = max(out["last_loud"] or 0.0, watch.last_loud)
        out["underruns"] += watch.underruns
        out["starved_frames"] += watch.starved_frames
        out["frames"] += watch.frames
        out["loud_frames"] += watch.loud_frames
        out["underrun_at"] += [round(t, 3) for t in watch.underrun_at]
        if reset:
            watch.reset()
    return out
