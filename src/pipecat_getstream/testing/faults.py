"""Fault-injection settings shared by the coordinator and the media unit."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field


@dataclass
class FaultState:
    """Faults the local server injects, settable from any thread.

    Attributes:
        drop_fraction: Fraction (0..1) of forwarded media frames dropped, per receiver.
        delay_ms: Extra delay added to every forwarded media frame.
        failing_joins: How many of the next join REST calls fail.
        failing_join_status: The HTTP status those joins fail with.
        failing_requests: How many of the next coordinator REST calls (any endpoint) fail.
        failing_request_status: The HTTP status those calls fail with.

    """

    drop_fraction: float = 0.0
    delay_ms: int = 0
    failing_joins: int = 0
    failing_join_status: int = 503
    failing_requests: int = 0
    failing_request_status: int = 503
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

    def fail_joins(self, count: int, status: int) -> None:
        """Make the next ``count`` join REST calls fail with ``status``.

        Raises:
            ValueError: If ``count`` is negative or ``status`` is not an HTTP error status.

        """
        _check_failure(count, status)
        with self._lock:
            self.failing_joins = count
            self.failing_join_status = status

    def fail_requests(self, count: int, status: int) -> None:
        """Make the next ``count`` coordinator REST calls, whatever the endpoint, fail.

        Raises:
            ValueError: If ``count`` is negative or ``status`` is not an HTTP error status.

        """
        _check_failure(count, status)
        with self._lock:
            self.failing_requests = count
            self.failing_request_status = status

    def take_request_failure(self) -> int | None:
        """Consume one pending REST failure; the status to fail with, or ``None``."""
        with self._lock:
            if self.failing_requests <= 0:
                return None
            self.failing_requests -= 1
            return self.failing_request_status

    def take_join_failure(self) -> int | None:
        """Consume one pending join failure.

        Returns:
            The HTTP status to fail with, or ``None`` when the join should proceed.

        """
        with self._lock:
            if self.failing_joins <= 0:
                return None
            self.failing_joins -= 1
            return self.failing_join_status


def _check_failure(count: int, status: int) -> None:
    if count < 0:
        raise ValueError("count must be >= 0")
    if not 400 <= status <= 599:
        raise ValueError("status must be an HTTP error status (400-599)")
