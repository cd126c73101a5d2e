"""Fault-injection settings shared by the coordinator and the media unit."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field


class FailureBudget:
    """A number of upcoming requests to fail, and the HTTP status to fail them with."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._status = 503

    def arm(self, count: int, status: int) -> None:
        """Make the next ``count`` requests fail with ``status``.

        Raises:
            ValueError: If ``count`` is negative or ``status`` is not an HTTP error status.

        """
        if count < 0:
            raise ValueError("count must be >= 0")
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        with self._lock:
            self._count, self._status = count, status

    def take(self) -> int | None:
        """Consume one armed failure: the status to fail with, or ``None`` to proceed."""
        with self._lock:
            if self._count <= 0:
                return None
            self._count -= 1
            return self._status


@dataclass
class FaultState:
    """Faults the local server injects, settable from any thread.

    Attributes:
        drop_fraction: Fraction (0..1) of forwarded media frames dropped, per receiver.
        delay_ms: Extra delay added to every forwarded media frame.
        joins: Failures armed for the next join REST calls.
        requests: Failures armed for the next coordinator REST calls, whatever the endpoint.

    """

    drop_fraction: float = 0.0
    delay_ms: int = 0
    joins: FailureBudget = field(default_factory=FailureBudget)
    requests: FailureBudget = field(default_factory=FailureBudget)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def set_media(self, drop_fraction: float, delay_ms: int) -> None:
        """Set media faults.

        Args:
            drop_fraction: Fraction of frames to drop, clamped to ``[0, 1]``.
            delay_ms: Delay in milliseconds added to each forwarded frame (``>= 0``).

        Raises:
            ValueError: If an argument is out of range.

        """
        if not 0.0 <= drop_fraction <= 1.0:
            raise ValueError("drop_fraction must be between 0 and 1")
        if delay_ms < 0:
            raise ValueError("delay_ms must be >= 0")
        with self._lock:
            self.drop_fraction = float(drop_fraction)
            self.delay_ms = int(delay_ms)

    def should_drop(self) -> bool:
        """Decide whether to drop the next forwarded frame."""
        fraction = self.drop_fraction
        return fraction > 0.0 and self._rng.random() < fraction
