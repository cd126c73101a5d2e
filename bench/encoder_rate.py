"""At what rate should the aiortc stack publish the bot's audio? ``python -m bench.encoder_rate``.

aiortc's Opus encoder always sends its input through a PyAV ``AudioResampler`` to 48 kHz
stereo in 960-sample frames. Fed a 16 kHz track, that resampler's filter delay holds back
part of every frame, so each encoded frame waits for the next input frame. And every
``resample()``/``encode()`` call pulls until FFmpeg answers ``EAGAIN``, which leaks PyAV's
error message (see :mod:`pipecat_getstream.media.resample`).

This measures, offline and deterministically, one pipeline's 16 kHz audio published two
ways through aiortc's real encoder and decoder:

* ``track16k``: written to a 16 kHz track (what the transport does today);
* ``track48k-unpadded``: resampled to 48 kHz by
  :class:`~pipecat_getstream.media.resample.StreamResampler` first, then written to a 48 kHz track;
* ``track48k``: the same through :class:`~pipecat_getstream.stacks.aiortc.opus_feed.Feed48k`,
  which pads the stream's start with the resampler's delay (what the transport does).

Reported per way: the delay from a tone's onset in the pipeline's audio to its onset in the
decoded audio (Opus's own look-ahead is in both), the memory retained per frame (tracemalloc,
after warm-up) and the CPU time per 20 ms frame. Needs aiortc (any environment of this
project has it: the local server uses it).
"""

from __future__ import annotations

import argparse
import fractions
import json
import time
import tracemalloc
from typing import Any

import av
import numpy as np
from aiortc.codecs.opus import OpusDecoder, OpusEncoder
from aiortc.jitterbuffer import JitterFrame

from pipecat_getstream.media.resample import StreamResampler
from pipecat_getstream.stacks.aiortc.opus_feed import Feed48k

PIPELINE_RATE = 16000
FRAME_MS = 20


def pipeline_audio(frames: int, onset_frame: int, freq: float = 1000.0) -> np.ndarray:
    """Silence, then a tone from ``onset_frame`` on: the pipeline's 16 kHz mono s16."""
    per = PIPELINE_RATE * FRAME_MS // 1000
    t = np.arange(frames * per) / PIPELINE_RATE
    audio = (0.5 * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    audio[: onset_frame * per] = 0
    return audio


class Publisher:
    """One way of publishing: pipeline chunks in, Opus packets out (aiortc's encoder)."""

    def __init__(self, track_rate: int, padded: bool = True):
        self.track_rate = track_rate
        self.encoder = OpusEncoder()
        self.resampler = StreamResampler(track_rate, 1) if track_rate != PIPELINE_RATE else None
        self.feed = Feed48k(PIPELINE_RATE, 1) if padded and self.resampler is not None else None
        self._pending = np.zeros(0, dtype=np.int16)
        self._pts = 0

    def push(self, chunk: np.ndarray) -> list[bytes]:
        """One 20 ms pipeline chunk; returns the Opus packets the encoder produced."""
        if self.feed is not None:
            chunk = np.frombuffer(self.feed.convert(chunk.tobytes()), dtype=np.int16)
        elif self.resampler is not None:
            chunk = self.resampler.resample(chunk, PIPELINE_RATE, 1)
        # The track hands whole 20 ms frames to the encoder (a partial one waits).
        self._pending = np.concatenate([self._pending, chunk])
        per = self.track_rate * FRAME_MS // 1000
        packets: list[bytes] = []
        while len(self._pending) >= per:
            data, self._pending = self._pending[:per], self._pending[per:]
            frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = self.track_rate
            frame.time_base = fractions.Fraction(1, self.track_rate)
            frame.pts = self._pts
            self._pts += per
            out, _ = self.encoder.encode(frame)
            packets += out
        return packets


def onset_ms(samples: np.ndarray, rate: int, threshold: int = 3000) -> float | None:
    """Time of the first sample louder than ``threshold``."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    return None if len(loud) == 0 else float(loud[0]) * 1000 / rate


def measure_delay(
    track_rate: int, padded: bool = True, frames: int = 100, onset_frame: int = 25
) -> dict[str, Any]:
    """Where and when a tone's onset comes out of aiortc's encoder.

    Returns:
        ``onset_in_stream_ms``: the onset's position in the decoded audio minus its position
        in the pipeline's (Opus's look-ahead; it says nothing of waiting).
        ``frames_held``: 20 ms frames pushed in but not yet sent out as packets, in steady
        state: each one is 20 ms the audio waits in the encoder.
        ``onset_sent_after_ms``: how long after the pipeline handed over the 20 ms chunk with
        the onset the packet carrying it was produced (0 = the same push).

    """
    audio = pipeline_audio(frames, onset_frame)
    per = PIPELINE_RATE * FRAME_MS // 1000
    pub = Publisher(track_rate, padded)
    decoder = OpusDecoder()
    decoded: list[np.ndarray] = []
    emitted_at: list[int] = []  # the push index that produced each decoded 20 ms
    timestamp = 0
    for i in range(frames):
        for packet in pub.push(audio[i * per : (i + 1) * per]):
            for frame in decoder.decode(JitterFrame(data=packet, timestamp=timestamp)):
                assert isinstance(frame, av.AudioFrame)
                decoded.append(frame.to_ndarray().reshape(-1, 2)[:, 0])
                emitted_at.append(i)
            timestamp += 960
    stream = np.concatenate(decoded)
    heard = onset_ms(stream, 48000)
    sent = onset_ms(audio, PIPELINE_RATE)
    assert heard is not None and sent is not None
    packet_index = int(heard // FRAME_MS)
    return {
        "onset_in_stream_ms": round(heard - sent, 2),
        "frames_held": frames - len(decoded),
        "onset_sent_after_ms": (emitted_at[packet_index] - onset_frame) * FRAME_MS,
    }


def measure_cost(track_rate: int, frames: int, padded: bool = True) -> dict[str, float]:
    """Memory retained and CPU time per 20 ms frame, after a warm-up."""
    audio = pipeline_audio(200, 0)
    per = PIPELINE_RATE * FRAME_MS // 1000
    chunks = [audio[i * per : (i + 1) * per] for i in range(200)]
    pub = Publisher(track_rate, padded)
    for i in range(500):  # warm-up: allocator pools, codec state
        pub.push(chunks[i % 200])
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i in range(frames):
        pub.push(chunks[i % 200])
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    retained = sum(s.size_diff for s in after.compare_to(before, "filename"))
    started = time.process_time()
    for i in range(frames):
        pub.push(chunks[i % 200])
    cpu = time.process_time() - started
    return {
        "retained_bytes_per_frame": round(retained / frames, 1),
        "retained_mb_per_hour": round(retained / frames * 50 * 3600 / 1e6, 1),
        "cpu_us_per_frame": round(cpu / frames * 1e6, 1),
    }


def run(frames: int) -> dict[str, Any]:
    """Both ways, side by side."""
    ways = {"track16k": (PIPELINE_RATE, True), "track48k-unpadded": (48000, False)}
    ways["track48k"] = (48000, True)
    return {
        name: {**measure_delay(rate, padded), **measure_cost(rate, frames, padded)}
        for name, (rate, padded) in ways.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.encoder_rate", description=__doc__)
    parser.add_argument("--frames", type=int, default=5000, help="frames per cost measurement")
    args = parser.parse_args(argv)
    print(json.dumps({"av": av.__version__, **run(args.frames)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
