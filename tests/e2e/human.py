"""The end-to-end tests' simulated human, on the public kit (``SimulatedParticipant``).

A thin adapter for the end-to-end suite: a human that talks a steady tone, shows a camera
or a screen share from the moment it joins, and exposes what it heard under the names the
tests read (``heard``, ``from_user``, ``video_sizes``, ``screen_sizes``...). The kit itself
(``human.kit``) is there for everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from pipecat_getstream.testing import SimulatedParticipant
from pipecat_getstream.testing.signals import Recording, rms, tone


class LiveHeard:
    """What was heard from one user, read live from the participant's recording."""

    def __init__(self, recording: Recording) -> None:
        self._recording = recording

    @property
    def chunks(self) -> list[tuple[float, np.ndarray]]:
        return self._recording.chunks()

    def samples(self, since: float = 0.0, until: float = float("inf")) -> np.ndarray:
        return self._recording.samples(since, until)

    def last_loud(self, threshold: float = 500.0) -> float | None:
        return self._recording.last_sound(threshold=threshold)


class _VideoSizes(Mapping[str, list[tuple[int, int]]]):
    def __init__(self, participant: SimulatedParticipant, kind: str) -> None:
        self._participant, self._kind = participant, kind

    def __getitem__(self, user_id: str) -> list[tuple[int, int]]:
        sizes = self._participant.video_sizes(user_id, self._kind)
        if not sizes:
            raise KeyError(user_id)
        return sizes

    def __iter__(self) -> Iterator[str]:
        return iter(())  # lookups only

    def __len__(self) -> int:
        return 0


class Human:
    """One participant: joins, optionally talks (a tone), shows a camera or a screen, records."""

    def __init__(
        self,
        server: Any,
        call_id: str,
        user_id: str,
        *,
        tone_hz: float | None = None,
        camera: tuple[int, int] | None = None,
        screen: tuple[int, int] | None = None,
        **options: Any,
    ):
        # options: call_type, receive_video, record (as SimulatedParticipant takes them).
        self.user_id, self.tone_hz, self.camera, self.screen = user_id, tone_hz, camera, screen
        self.kit = SimulatedParticipant(
            server, call_id, user_id, microphone=tone_hz is not None, **options
        )
        self.video_sizes = _VideoSizes(self.kit, "video")
        self.screen_sizes = _VideoSizes(self.kit, "screen_share")
        self._talking: asyncio.Task[float] | None = None

    async def join(self) -> Human:
        await self.kit.join()
        if self.tone_hz is not None:
            self._talking = asyncio.create_task(self.kit.say(tone(self.tone_hz, 1.0), repeat=True))
        if self.screen is not None:
            await self.kit.start_screen_share(*self.screen)
        if self.camera is not None:
            await self.kit.start_camera(*self.camera)
        return self

    async def leave(self) -> list[str]:
        """Stop talking and leave; returns what the kit could not do (empty when clean)."""
        if self._talking is not None:
            self._talking.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._talking
        return await self.kit.leave()

    async def __aenter__(self) -> Human:
        return await self.join()

    async def __aexit__(self, *exc: Any) -> None:
        await self.leave()

    @property
    def joined_at(self) -> float:
        return self.kit.joined_at

    @property
    def heard(self) -> dict[str, LiveHeard]:
        return {user: self.from_user(user) for user in self.kit.speakers()}

    def from_user(self, user_id: str) -> LiveHeard:
        return LiveHeard(self.kit.recording(user_id))

    @property
    def custom_events(self) -> list[dict[str, Any]]:
        return self.kit.events

    @property
    def joined_users(self) -> list[str]:
        return self.kit.joined

    @property
    def left_users(self) -> list[str]:
        return self.kit.left

    @property
    def audio_frames(self) -> int:
        return self.kit.audio_frames

    async def send_custom(self, payload: dict[str, Any]) -> None:
        await self.kit.send_event(payload)


__all__ = ["Human", "LiveHeard", "rms"]
