"""The vectorised audio level returns exactly what aiortc's own function returns."""

from __future__ import annotations

import av
import numpy as np
import pytest
from aiortc import rtp

from pipecat_getstream import speedups

# aiortc's own function: the module's, or (when another test installed the speedup first)
# the one the speedup replaced. Never missing, so the comparison never skips.
ORIGINAL = (
    speedups._original if speedups.fast_audio_level_installed() else rtp.compute_audio_level_dbov
)


def make_frame(samples: np.ndarray, rate: int, layout: str) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout=layout)
    frame.sample_rate = rate
    return frame


def cases() -> list[tuple[str, av.AudioFrame]]:
    rng = np.random.default_rng(7)
    out = []
    for rate, layout, channels in ((48000, "stereo", 2), (16000, "mono", 1), (8000, "mono", 1)):
        n = rate // 50 * channels
        out.append((f"silence-{rate}", make_frame(np.zeros(n, np.int16), rate, layout)))
        out.append((f"full-{rate}", make_frame(np.full(n, 32767, np.int16), rate, layout)))
        out.append((f"min-{rate}", make_frame(np.full(n, -32768, np.int16), rate, layout)))
        out.append((f"one-{rate}", make_frame(np.eye(1, n, dtype=np.int16)[0], rate, layout)))
        for scale in (3, 300, 3000, 30000):
            noise = rng.integers(-scale, scale, n).astype(np.int16)
            out.append((f"noise{scale}-{rate}", make_frame(noise, rate, layout)))
    return out


@pytest.mark.parametrize(("name", "frame"), cases(), ids=[c[0] for c in cases()])
def test_same_level_as_aiortc(name: str, frame: av.AudioFrame) -> None:
    assert ORIGINAL is not None and ORIGINAL is not speedups.audio_level_dbov
    assert speedups.audio_level_dbov(frame) == ORIGINAL(frame)


def test_install_is_idempotent_and_reversible() -> None:
    was = speedups.fast_audio_level_installed()
    speedups.install_fast_audio_level()
    speedups.install_fast_audio_level()
    assert rtp.compute_audio_level_dbov is speedups.audio_level_dbov
    if not was:
        speedups.uninstall_fast_audio_level()
        assert rtp.compute_audio_level_dbov is ORIGINAL
