"""A streaming PyAV resampler that does not leak memory on every frame.

PyAV's ``AudioResampler.resample`` (and the SDK's ``PyAVResampler``, built on it) pulls
from its filter graph until FFmpeg answers ``EAGAIN``, which PyAV turns into an
``FFmpegError``. Each ``FFmpegError`` PyAV raises leaks its 81-byte message string (PyAV
14.2 and 16.1 alike; ``tests/unit/test_resample.py`` measures it). At 50 frames a second per
participant that is about 4 KB/s, or 15 MB an hour, per participant.

:class:`StreamResampler` drives the same FFmpeg filter graph (``abuffer -> aformat ->
abuffersink``) but pulls only as many frames as the samples it was given can have produced,
so in steady state no error is ever raised. The conversion itself is FFmpeg's.
"""

from __future__ import annotations

import errno
import fractions

import av
import numpy as np
from av.filter import Graph

# Samples the resampler may hold back (its filter delay) before output is due.
_SLACK_SAMPLES = 64


class StreamResampler:
    """Converts a continuous s16 stream to mono or stereo s16 at one output rate.

    The graph is built for the first frame's rate and channel count; a frame with another
    rate or channel count starts a fresh graph (the stream changed).

    Args:
        out_rate: Output sample rate in Hz.
        out_channels: Output channel count (1 or 2).

    """

    def __init__(self, out_rate: int, out_channels: int = 1):
        self.out_rate = out_rate
        self.out_channels = out_channels
        self._graph: Graph | None = None
        self._source: tuple[int, int] | None = None
        self._in_samples = 0
        self._out_samples = 0
        self._time_base = fractions.Fraction(1, 48000)

    def resample(self, samples: np.ndarray, rate: int, channels: int) -> np.ndarray:
        """Convert one chunk of interleaved (or planar ``(channels, n)``) s16 samples.

        Args:
            samples: The chunk, ``int16``; 1-D interleaved or 2-D ``(channels, n)``.
            rate: Its sample rate.
            channels: Its channel count (1 or 2).

        Returns:
            Interleaved ``int16`` output samples (empty while the filter fills its delay).

        """
        if (rate, channels) != self._source or self._graph is None:
            self._graph = self._build(rate, channels)
            self._source = (rate, channels)
            self._time_base = fractions.Fraction(1, rate)
            self._in_samples = self._out_samples = 0
        planar = np.ascontiguousarray(
            samples.reshape(-1, channels).T if samples.ndim == 1 else samples, dtype=np.int16
        )
        frame = av.AudioFrame.from_ndarray(
            planar, format="s16p", layout="mono" if channels == 1 else "stereo"
        )
        frame.sample_rate = rate
        frame.time_base = self._time_base
        frame.pts = self._in_samples
        self._in_samples += planar.shape[1]
        self._graph.push(frame)
        due = self._in_samples * self.out_rate // rate - _SLACK_SAMPLES
        out: list[np.ndarray] = []
        while self._out_samples < due:
            try:
                produced = self._graph.pull()
            except av.FFmpegError as exc:  # nothing buffered after all (rare)
                if exc.errno != errno.EAGAIN:
                    raise
                break
            assert isinstance(produced, av.AudioFrame)
            self._out_samples += produced.samples
            out.append(produced.to_ndarray().reshape(-1))
        if not out:
            return np.zeros(0, dtype=np.int16)
        return out[0] if len(out) == 1 else np.concatenate(out)

    def flush(self) -> np.ndarray:
        """Return what the filter still holds (end of stream); the next chunk starts afresh.

        Ends the graph, so FFmpeg raises one end-of-stream error here (once per stream,
        not per frame: no leak to speak of).
        """
        graph, self._graph, self._source = self._graph, None, None
        if graph is None:
            return np.zeros(0, dtype=np.int16)
        graph.push(None)
        out: list[np.ndarray] = []
        while True:
            try:
                produced = graph.pull()
            except (av.FFmpegError, EOFError):
                break
            assert isinstance(produced, av.AudioFrame)
            out.append(produced.to_ndarray().reshape(-1))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int16)

    def _build(self, rate: int, channels: int) -> Graph:
        graph = Graph()
        source = graph.add(
            "abuffer",
            sample_rate=str(rate),
            sample_fmt="s16p",
            channel_layout="mono" if channels == 1 else "stereo",
            time_base=f"1/{rate}",
        )
        convert = graph.add(
            "aformat",
            sample_rates=str(self.out_rate),
            sample_fmts="s16",
            channel_layouts="mono" if self.out_channels == 1 else "stereo",
        )
        sink = graph.add("abuffersink")
        source.link_to(convert)
        convert.link_to(sink)
        graph.configure()
        return graph
