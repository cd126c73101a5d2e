"""Test signals and what a listener measures in them: onsets, gaps, drift.

Pure numpy, so it runs in the bot process of either implementation and in the peers process.
A signal is "loud" where its peak exceeds :data:`LOUD`; the benchmark tones are far above it
and decoded silence far below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Peak amplitude (s16) above which audio counts as speech.
LOUD = 300
#: Envelope resolution in seconds (peak per block).
BLOCK_SECS = 0.0025
#: A quiet run this long inside speech is an underrun. A 20 ms silent frame inserted by a
#: starving sender reaches the listener as 15-20 ms of quiet after the codec's overlap.
GAP_SECS = 0.015
TONE_AMPLITUDE = 8000


#: What :meth:`Recorder.speech` reports when no speech was heard in the window at all.
_NOTHING_HEARD: dict[str, Any] = {
    "breaks": 0,
    "gaps": 0,
    "gap_ms": [],
    "speech_secs": 0.0,
    "span_secs": 0.0,
    "drift_ms": 0.0,
    "chunks": 0,
    "audio_secs": 0.0,
    "nothing_heard": True,
}


class Tone:
    """A phase-continuous sine, cut into consecutive s16 chunks.

    Args:
        freq: Frequency in Hz.
        rate: Sample rate in Hz.
        amplitude: Peak amplitude.

    """

    def __init__(self, freq: float, rate: int, amplitude: int = TONE_AMPLITUDE):
        self.freq = freq
        self.rate = rate
        self.amplitude = amplitude
        self._pos = 0

    def next(self, secs: float) -> np.ndarray:
        """The next ``secs`` seconds of the tone."""
        n = int(round(secs * self.rate))
        t = (np.arange(n) + self._pos) / self.rate
        self._pos += n
        return (np.sin(2 * math.pi * self.freq * t) * self.amplitude).astype(np.int16)


def peak(samples: np.ndarray) -> int:
    """Largest absolute sample value (0 for empty input)."""
    if samples.size == 0:
        return 0
    return int(np.max(np.abs(samples.astype(np.int32))))


def envelope(samples: np.ndarray, rate: int) -> np.ndarray:
    """Peak per :data:`BLOCK_SECS` block (the last partial block included)."""
    block = max(1, int(rate * BLOCK_SECS))
    samples = np.abs(samples.astype(np.int32).reshape(-1))
    pad = (-len(samples)) % block
    if pad:
        samples = np.concatenate([samples, np.zeros(pad, dtype=np.int32)])
    return samples.reshape(-1, block).max(axis=1).astype(np.int16)


@dataclass
class Recorder:
    """What a listener heard from one sender: arrival time and envelope of each chunk."""

    times: list[float] = field(default_factory=list)
    envs: list[np.ndarray] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    rate: int = 48000

    def add(self, t: float, samples: np.ndarray, rate: int) -> None:
        """Record a chunk of ``samples`` (mono s16) that arrived at ``t``."""
        self.rate = rate
        self.times.append(t)
        self.envs.append(envelope(samples, rate))
        self.sizes.append(int(samples.size))

    def clear(self) -> None:
        """Forget everything heard so far."""
        self.times.clear()
        self.envs.clear()
        self.sizes.clear()

    def _window(
        self, since: float, until: float
    ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        idx = [i for i, t in enumerate(self.times) if since <= t < until]
        times = np.array([self.times[i] for i in idx])
        sizes = np.array([self.sizes[i] for i in idx], dtype=np.int64)
        return times, [self.envs[i] for i in idx], sizes

    def onsets(
        self, since: float = 0.0, until: float = math.inf, quiet_secs: float = 0.15
    ) -> list[float]:
        """Arrival times of chunks where speech starts after at least ``quiet_secs`` of quiet."""
        times, envs, _ = self._window(since, until)
        out: list[float] = []
        quiet = quiet_secs
        for t, env in zip(times, envs, strict=True):
            loud = np.nonzero(env > LOUD)[0]
            if loud.size and quiet + loud[0] * BLOCK_SECS >= quiet_secs:
                out.append(float(t))
            if loud.size:
                quiet = (len(env) - 1 - loud[-1]) * BLOCK_SECS
            else:
                quiet += len(env) * BLOCK_SECS
        return out

    def last_loud(self, since: float = 0.0, until: float = math.inf) -> float | None:
        """Arrival time of the last chunk with speech in it, or ``None``."""
        times, envs, _ = self._window(since, until)
        for t, env in zip(times[::-1], envs[::-1], strict=True):
            if np.any(env > LOUD):
                return float(t)
        return None

    def speech(
        self, since: float = 0.0, until: float = math.inf, points: int = 600
    ) -> dict[str, Any]:
        """Underruns and drift of continuous speech heard in ``[since, until)``.

        Returns:
            ``gaps`` (quiet runs >= :data:`GAP_SECS` between the first and last speech),
            ``gap_ms`` (their lengths), ``speech_secs`` (speech heard), ``span_secs`` (wall
            time from first to last speech), ``drift_ms`` (growth of the lag of the speech
            timeline behind wall time, start to end, robust to jitter), ``max_interarrival_ms``
            and a downsampled ``series`` of ``[t, lag_ms]`` for plots.

        """
        times, envs, _ = self._window(since, until)
        if not len(times):
            return _NOTHING_HEARD.copy()
        flat = np.concatenate(envs) > LOUD
        counts = np.array([len(e) for e in envs])
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        loud_idx = np.nonzero(flat)[0]
        if not loud_idx.size:
            return _NOTHING_HEARD.copy()
        first, last = int(loud_idx[0]), int(loud_idx[-1])
        inner = flat[first : last + 1]
        gaps = [(pos, run) for pos, run in _runs(~inner) if run * BLOCK_SECS >= GAP_SECS]
        gap_ms = [run * BLOCK_SECS * 1000 for _, run in gaps]
        gap_at = [
            float(times[np.searchsorted(starts, first + pos, "right") - 1]) for pos, _ in gaps
        ]
        # Lag of the speech timeline: wall time since the first speech minus speech heard.
        loud_cum = np.cumsum(flat)
        chunk_end = starts + counts - 1
        sel = (chunk_end >= first) & (starts <= last)
        t_sel = times[sel]
        heard = loud_cum[chunk_end[sel]] * BLOCK_SECS
        lag = (t_sel - t_sel[0]) - heard
        k = max(1, min(50, len(lag) // 10))
        drift = float(np.median(lag[-k:]) - np.median(lag[:k])) * 1000
        step = max(1, len(lag) // points)
        inter = np.diff(t_sel) * 1000 if len(t_sel) > 1 else np.zeros(1)
        breaks, break_at = _timeline_breaks(t_sel, lag)
        return {
            "breaks": len(breaks),
            "break_ms": [round(b, 1) for b in breaks[:200]],
            "break_at": [round(t, 3) for t in break_at[:200]],
            "gaps": len(gap_ms),
            "gap_ms": [round(g, 1) for g in gap_ms[:200]],
            "gap_at": [round(t, 3) for t in gap_at[:200]],
            "speech_secs": round(float(np.sum(inner)) * BLOCK_SECS, 3),
            "span_secs": round(float(t_sel[-1] - t_sel[0]), 3),
            "drift_ms": round(drift, 2),
            "max_interarrival_ms": round(float(inter.max()), 1),
            "chunks": int(len(times)),
            "audio_secs": round(float(np.sum([len(e) for e in envs])) * BLOCK_SECS, 3),
            "series": [
                [round(float(t_sel[i] - t_sel[0]), 3), round(float(lag[i] - lag[0]) * 1000, 2)]
                for i in range(0, len(lag), step)
            ],
        }


def _timeline_breaks(
    t: np.ndarray, lag: np.ndarray, merge_secs: float = 0.1, tail_secs: float = 0.5
) -> tuple[list[float], list[float]]:
    """Permanent setbacks of the speech timeline: silence inserted or audio that never came.

    ``lag`` (wall time minus speech heard) rises during a quiet gap or while audio is
    missing, and falls back when late audio catches up (jitter). Its suffix minimum rises
    only where speech was lost for good. Rises within ``merge_secs`` of each other form one
    break; breaks of at least :data:`GAP_SECS` are returned (ms, arrival time). The last
    ``tail_secs`` are ignored (late audio there may still have been on its way).
    """
    if len(lag) < 3:
        return [], []
    floor = np.minimum.accumulate(lag[::-1])[::-1]
    rises = np.diff(floor)
    usable = t[1:] <= t[-1] - tail_secs
    out: list[float] = []
    at: list[float] = []
    acc, start = 0.0, None
    for i in np.nonzero((rises > 0) & usable)[0]:
        when = float(t[i + 1])
        if start is not None and when - start > merge_secs:
            if acc >= GAP_SECS:
                out.append(acc * 1000)
                at.append(start)
            acc, start = 0.0, None
        if start is None:
            start = when
        acc += float(rises[i])
    if start is not None and acc >= GAP_SECS:
        out.append(acc * 1000)
        at.append(start)
    return out, at


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, length)`` of each run of ``True`` in a boolean array."""
    if not mask.size:
        return []
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.diff(padded)
    begins, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    return [(int(b), int(e - b)) for b, e in zip(begins, ends, strict=True)]


class FrameWatch:
    """Watches the frames a sender emits (one per 20 ms) for speech onsets and starvation.

    A silent frame between two frames with speech is a sender-side underrun: the track had
    nothing queued when it was due (only meaningful while the sender streams continuously).
    Speech after 8 or more silent frames also counts as an onset. Used on both the bot's and
    the participants' tracks.
    """

    def __init__(self) -> None:
        self.onsets: list[float] = []
        self.last_loud: float | None = None
        self.frames = 0
        self.loud_frames = 0
        self.underruns = 0
        self.starved_frames = 0
        self.underrun_at: list[float] = []
        self._quiet_run = 0
        self._in_speech = False

    def see(self, t: float, loud: bool) -> None:
        """Record a frame emitted at ``t``."""
        self.frames += 1
        if loud:
            self.loud_frames += 1
            if not self._in_speech or self._quiet_run >= 8:
                self.onsets.append(t)
            if self._in_speech and self._quiet_run:
                self.underruns += 1
                self.starved_frames += self._quiet_run
                if len(self.underrun_at) < 100:
                    self.underrun_at.append(t - self._quiet_run * 0.02)
            self._in_speech = True
            self._quiet_run = 0
            self.last_loud = t
        elif self._in_speech:
            self._quiet_run += 1

    def reset(self) -> None:
        """Forget counts, onsets and the speech state (call it while the sender is silent)."""
        self.onsets.clear()
        self.underruns = 0
        self.starved_frames = 0
        self.underrun_at.clear()
        self.frames = 0
        self.loud_frames = 0
        self._in_speech = False
        self._quiet_run = 0
