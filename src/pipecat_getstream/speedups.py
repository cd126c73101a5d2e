"""A vectorised replacement for aiortc's per-frame RFC 6465 audio-level computation.

aiortc's RTP sender computes the audio level of every outgoing ``AudioFrame`` with
``aiortc.rtp.compute_audio_level_dbov``, which walks the samples one at a time in Python while
holding the GIL: 1,920 iterations for a 20 ms 48 kHz stereo frame. On getstream 3.3.3-6.x
every bot's audio track is sent by aiortc, so a process with many calls pays it 50 times a
second per call. (It was measured where it was largest, on an earlier local server that
re-encoded every stream through aiortc: two thirds of its event loop's GIL time at 8 calls.)

Nothing installs it by default: the library changes nothing process-wide. A process opts in
with :func:`install_fast_audio_level`, which swaps in a numpy version that reads the same
bytes and returns the same integer for every input (``tests/unit/test_speedups.py`` checks
this against aiortc's own function); :func:`uninstall_fast_audio_level` restores aiortc's
function. SDK 7.x sends audio from its Rust core and is unaffected.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from aiortc import rtp

_MAX_SAMPLE = 32767.0
_MIN_LEVEL = -127
_MAX_LEVEL = 0

_original: Callable[[Any], int] | None = None


def audio_level_dbov(frame: Any) -> int:
    """The RFC 6465 audio level (dBov, -127..0) of a packed signed 16-bit ``av.AudioFrame``.

    Args:
        frame: The frame aiortc is about to encode.

    Returns:
        The same value as ``aiortc.rtp.compute_audio_level_dbov(frame)``.

    """
    buf = bytes(frame.planes[0])
    samples = np.frombuffer(buf, dtype=np.int16, count=len(buf) // 2).astype(np.int64)
    energy = float(np.square(samples).sum())
    rms = math.sqrt(energy / (frame.samples * _MAX_SAMPLE * _MAX_SAMPLE))
    if rms <= 0:
        return _MIN_LEVEL
    return round(min(max(20 * math.log10(rms), _MIN_LEVEL), _MAX_LEVEL))


def install_fast_audio_level() -> None:
    """Make aiortc's RTP senders use :func:`audio_level_dbov` (process-wide, idempotent)."""
    global _original
    if _original is None:
        _original = rtp.compute_audio_level_dbov
        rtp.compute_audio_level_dbov = audio_level_dbov


def uninstall_fast_audio_level() -> None:
    """Restore aiortc's own audio-level function."""
    global _original
    if _original is not None:
        rtp.compute_audio_level_dbov = _original  # type: ignore[assignment]
        _original = None


def fast_audio_level_installed() -> bool:
    """Whether :func:`install_fast_audio_level` is in effect."""
    return rtp.compute_audio_level_dbov is audio_level_dbov
