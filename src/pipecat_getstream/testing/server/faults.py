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


@dataclass(frozen=True)
class MediaFaults:
    """Packet faults applied to the media one participant receives.

    Attributes:
        drop_fraction: Fraction (0..1) of forwarded RTP packets dropped.
        delay_ms: Extra delay added to every forwarded RTP packet.

    """

    drop_fraction: float = 0.0
    delay_ms: int = 0

    @property
    def active(self) -> bool:
        """Whether any fault is set."""
        return self.drop_fraction > 0.0 or self.delay_ms > 0


NO_FAULTS = MediaFaults()


@dataclass
class FaultState:
    """Faults the local server injects, settable from any thread.

    Attributes:
        media: Packet faults for every participant without faults of its own.
        media_by_user: Packet faults for the media given users receive.
        joins: Failures armed for the next join REST calls.
        requests: Failures armed for the next coordinator REST calls, whatever the endpoint.

    """

    media: MediaFaults = NO_FAULTS
    media_by_user: dict[str, MediaFaults] = field(default_factory=dict)
    joins: FailureBudget = field(default_factory=FailureBudget)
    requests: FailureBudget = field(default_factory=FailureBudget)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def set_media(self, drop_fraction: float, delay_ms: int, user_id: str | None = None) -> None:
        """Set packet faults, for everyone or for the media one user receives.

        Args:
            drop_fraction: Fraction of RTP packets to drop, in ``[0, 1]``.
            delay_ms: Delay in milliseconds added to each forwarded packet (``>= 0``).
            user_id: The receiving user; ``None`` sets the default for everyone.
                Zero faults for a user remove the user's own setting.

        Raises:
            ValueError: If an argument is out of range.

        """
        if not 0.0 <= drop_fraction <= 1.0:
            raise ValueError("drop_fraction must be between 0 and 1")
        if delay_ms < 0:
            raise ValueError("delay_ms must be >= 0")
        faults = MediaFaults(float(drop_fraction), int(delay_ms))
        with self._lock:
            if user_id is None:
                self.media = faults
            elif faults.active:
                self.media_by_user = {**self.media_by_user, user_id: faults}
            else:
                self.media_by_user = {k: v for k, v in self.media_by_user.items() if k != user_id}

    def clear_media(self) -> None:
        """Remove every packet fault."""
        with self._lock:
            self.media, self.media_by_user = NO_FAULTS, {}

    def media_for(self, user_id: str) -> MediaFaults:
        """The packet faults for the media ``user_id`` receives."""
        return self.media_by_user.get(user_id, self.media)

    def should_drop(self, faults: MediaFaults) -> bool:
        """Decide whether to drop the next packet under ``faults``."""
        fraction = faults.drop_fraction
        return fraction > 0.0 and self._rng.random() < fraction
