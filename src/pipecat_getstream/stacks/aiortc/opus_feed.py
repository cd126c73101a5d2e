"""The bot's audio at 48 kHz, in whole 20 ms frames, for aiortc's Opus encoder.

aiortc's Opus encoder resamples whatever it is given to 48 kHz through a PyAV
``AudioResampler`` that emits 960-sample frames. From a 16 kHz (or 24 kHz) track that
resampler's filter delay leaves each frame a few samples short, so every encoded frame waits
for the next 20 ms of input: 20 ms of output latency, on every call. Given 48 kHz, the same
resampler only changes the channel layout and emits each frame at once
(``python -m bench.encoder_rate`` measures both).

:class:`Feed48k` converts the pipeline's audio to 48 kHz with the leak-free
:class:`~pipecat_getstream.media.resample.StreamResampler` and pads the start of each stream with
the resampler's own delay (about 1 ms of silence), so the SDK's track, which hands aiortc only
whole 20 ms frames, is never left holding a partial one.
"""

from __future__ import annotations

import numpy as np

from pipecat_getstream.media.resample import StreamResampler

#: aiortc's Opus encoder's rate: audio at it reaches the codec without waiting.
OPUS_RATE = 48000


class Feed48k:
    """Interleaved s16 at ``in_rate`` in, interleaved s16 at 48 kHz out, sample-exact.

    The first chunk of a stream is padded at its start with the samples the resampler holds
    back, so from then on the output keeps pace with the input: ``in_samples * 48000 /
    in_rate`` samples per channel since the stream started (to within a sample or two at
    rates that do not divide 48 kHz).

    Args:
        in_rate: The pipeline's (published) sample rate.
        channels: Channel count (1 or 2), kept.

    """

    def __init__(self, in_rate: int, channels: int):
        self.in_rate = in_rate
        self.channels = channels
        self._resampler = StreamResampler(OPUS_RATE, channels)
        self._in_frames = 0
        self._out_frames = 0

    def convert(self, audio: bytes) -> bytes:
        """Convert one chunk (whole sample frames of ``channels`` samples) as bytes."""
        return self.convert_samples(np.frombuffer(audio, dtype=np.int16)).tobytes()

    def convert_samples(self, samples: np.ndarray) -> np.ndarray:
        """Convert one chunk of interleaved ``int16`` samples; returns them at 48 kHz."""
        self._in_frames += len(samples) // self.channels
        out = self._resampler.resample(samples, self.in_rate, self.channels)
        produced = len(out) // self.channels
        due = self._in_frames * OPUS_RATE // self.in_rate
        missing = due - self._out_frames - produced
        if missing > 0 and self._out_frames == 0:
            # The stream's start: lead with as much silence as the resampler holds back.
            out = np.concatenate([np.zeros(missing * self.channels, dtype=np.int16), out])
            produced += missing
        self._out_frames += produced
        return out

    def reset(self) -> None:
        """Start a new stream (after a flush): what the resampler holds is dropped."""
        self._resampler = StreamResampler(OPUS_RATE, self.channels)
        self._in_frames = self._out_frames = 0
