"""The demo's person in the call: the kit's ``SimulatedParticipant``, plus what the demo reports.

It joins like any SDK client (through :class:`pipecat_getstream.testing.SimulatedParticipant`,
which runs the unmodified SDK on its own thread), plays recorded speech into its microphone,
and keeps what it heard from the bot and what it said, with times, for the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipecat_getstream.testing import LocalStreamServer
from pipecat_getstream.testing.kit.participant import SimulatedParticipant as KitParticipant
from pipecat_getstream.testing.signals import LOUD_RMS, SAMPLE_RATE, load_wav, rms

__all__ = ["LOUD_RMS", "MIC_RATE", "SimulatedParticipant", "Track", "load_wav", "rms"]

MIC_RATE = SAMPLE_RATE
CHUNK_SECS = 0.02


@dataclass
class Track:
    """Timed audio: ``(time the chunk ended, samples)`` pairs on the monotonic clock."""

    rate: int = MIC_RATE
    chunks: list[tuple[float, np.ndarray]] = field(default_factory=list)


class SimulatedParticipant:
    """One person in the call, driven by the demo script.

    Args:
        server: The local server.
        call_type: Call type.
        call_id: Call id.
        user_id: The participant's user id.
        bot_id: The bot's user id, whose audio is recorded.
        on_custom: Called (on the demo's loop) with each custom event the call receives.

    """

    def __init__(
        self,
        server: LocalStreamServer,
        *,
        call_type: str,
        call_id: str,
        user_id: str,
        bot_id: str,
        on_custom: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.user_id, self.bot_id = user_id, bot_id
        self.kit = KitParticipant(server, call_id, user_id, call_type=call_type)
        self._on_custom_cb = on_custom
        self.spoken = Track()  # what this participant said, as it was sent
        self.custom_events: list[tuple[float, dict[str, Any]]] = []
        self.joined_at: float | None = None
        self.join_secs: float | None = None
        self._events_task: asyncio.Task[None] | None = None

    @property
    def heard(self) -> Track:
        """What arrived from the bot."""
        recording = self.kit.recording(self.bot_id)
        return Track(recording.rate, recording.chunks())

    async def join(self, timeout: float = 20.0) -> None:
        """Join the call, publish the microphone and start watching the call's events."""
        started = time.monotonic()
        await asyncio.wait_for(self.kit.join(), timeout)
        self.joined_at = time.monotonic()
        self.join_secs = self.joined_at - started
        self._events_task = asyncio.create_task(self._follow_events())

    async def leave(self) -> None:
        """Leave the call."""
        if self._events_task is not None:
            self._events_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._events_task
        await self.kit.leave()

    async def send_event(self, payload: dict[str, Any]) -> None:
        """Send a custom event to everyone watching the call (the bot among them)."""
        await self.kit.send_event(payload)

    async def say(self, samples: np.ndarray) -> tuple[float, float]:
        """Speak int16 mono samples at :data:`MIC_RATE` in real time; returns (start, end)."""
        start = await self.kit.say(samples)
        n = int(MIC_RATE * CHUNK_SECS)
        for i, offset in enumerate(range(0, len(samples), n)):
            self.spoken.chunks.append((start + (i + 1) * CHUNK_SECS, samples[offset : offset + n]))
        return start, start + len(samples) / MIC_RATE

    async def wait_bot_speech(self, since: float, timeout: float) -> float | None:
        """Wait for the bot's voice after ``since``; returns when it was first heard."""
        try:
            return await self.kit.wait_for_sound(self.bot_id, since=since, timeout=timeout)
        except TimeoutError:
            return None

    async def wait_bot_quiet(self, quiet_secs: float, timeout: float) -> None:
        """Wait until the bot has been silent for ``quiet_secs`` (or the timeout)."""
        with contextlib.suppress(TimeoutError):
            await self.kit.wait_for_silence(self.bot_id, quiet=quiet_secs, timeout=timeout)

    async def _follow_events(self) -> None:
        while True:
            for event in self.kit.events[len(self.custom_events) :]:
                self.custom_events.append((time.monotonic(), event))
                if self._on_custom_cb is not None:
                    self._on_custom_cb(event)
            await asyncio.sleep(0.02)
