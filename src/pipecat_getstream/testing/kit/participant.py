"""``SimulatedParticipant``: a real GetStream SDK user in a call, for testing an agent.

It joins a :class:`~pipecat_getstream.testing.LocalStreamServer` call through the installed,
unmodified SDK (7.x over ``getstream_rtc``; 3.3.3-6.x over aiortc), speaks, shows video,
sends and receives custom events, and records what it hears per speaker. Its SDK work runs
on a thread and event loop of its own, so a test's loop (or the bot's) never waits on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from loguru import logger

from pipecat_getstream.errors import GetstreamConfigError
from pipecat_getstream.testing.kit.call_view import CallView
from pipecat_getstream.testing.kit.inbox import Inbox, Seat, VideoOut
from pipecat_getstream.testing.kit.sdk_thread import SdkThread, ServerAddress
from pipecat_getstream.testing.signals import (
    LOUD_RMS,
    SAMPLE_RATE,
    Recording,
    load_wav,
    resample,
    to_mono,
    wait_until,
)

T = TypeVar("T")
#: Length of each microphone write while speaking.
CHUNK_SECONDS = 0.02
#: How far ahead of real time speech is written (the SDK's send buffer).
LEAD_SECONDS = 0.06
#: The time limit of each step of :meth:`SimulatedParticipant.leave`.
LEAVE_STEP_SECONDS = 10.0


def _backend(seat: Seat) -> Any:
    from pipecat_getstream.stacks import stack_name

    if stack_name() == "rust":
        from pipecat_getstream.testing.kit.rust_backend import RustBackend

        return RustBackend(seat)
    from pipecat_getstream.testing.kit.aiortc_backend import AiortcBackend

    return AiortcBackend(seat)


class SimulatedParticipant(CallView):
    """A real SDK participant: joins, speaks, listens, shows video, sends and gets events.

    Use as ``async with SimulatedParticipant(server, call_id, "alice") as alice:`` from
    any event loop; it joins on entry and leaves on exit. All methods are coroutines of the
    caller's loop; the SDK runs on the participant's own thread.

    Args:
        server: The server (``LocalStreamServer``, or anything with ``api_key``,
            ``api_secret``, ``base_url`` and ``coordinator_ws_url``).
        call_id: The call to join (created if it does not exist).
        user_id: This participant's user id.
        call_type: The call type.
        receive_video: Also subscribe to camera and screen-share video (their frame sizes
            are then in :meth:`video_sizes`).
        record: Keep received audio (``False``: only count frames, for long runs).
        microphone: Publish a microphone track (``False``: a listener, who cannot
            :meth:`say` anything).

    Raises:
        GetstreamConfigError: On an empty ``call_id`` or ``user_id``.

    """

    def __init__(
        self,
        server: ServerAddress,
        call_id: str,
        user_id: str,
        *,
        call_type: str = "default",
        receive_video: bool = False,
        record: bool = True,
        microphone: bool = True,
    ) -> None:
        for name, value in (("call_id", call_id), ("user_id", user_id), ("call_type", call_type)):
            if not isinstance(value, str) or not value:
                raise GetstreamConfigError(f"{name} must be a non-empty string, got {value!r}")
        self.server, self.call_id, self.user_id = server, call_id, user_id
        self._inbox = Inbox(record)
        self._seat = Seat(
            server, call_type, call_id, user_id, receive_video, self._inbox, microphone
        )
        self._thread: SdkThread | None = None
        self._sdk: Any = None
        self._speaking: asyncio.Lock | None = None
        #: ``time.monotonic()`` when the join finished (0.0 before).
        self.joined_at = 0.0

    # ----------------------------------------------------------------- lifecycle
    @property
    def generation(self) -> str:
        """The SDK generation in use: ``"7.x"`` or ``"3.x-6.x"``."""
        from pipecat_getstream.stacks import stack_name

        return "7.x" if stack_name() == "rust" else "3.x-6.x"

    async def join(self) -> SimulatedParticipant:
        """Join the call and publish a microphone (silent until :meth:`say`)."""
        if self._thread is not None:
            raise RuntimeError(f"{self.user_id} has already joined")
        self._thread = SdkThread(f"participant-{self.user_id}")

        async def join() -> None:
            self._sdk = _backend(self._seat)
            self._speaking = asyncio.Lock()
            await self._sdk.join()

        try:
            await self._thread.run(join())
        except BaseException:
            await self.leave()
            raise
        self.joined_at = time.monotonic()
        logger.debug(f"simulated participant {self.user_id} joined {self.call_id}")
        return self

    async def leave(self) -> list[str]:
        """Leave the call and stop the participant's thread, within a bounded time.

        Each step (the SDK's leave, cancelling what the SDK left running, stopping the
        thread) has its own time limit (:data:`LEAVE_STEP_SECONDS`), so ``leave()`` returns
        within about three times that under any load. Nothing here runs on the loop's default
        executor, so many participants leaving at once do not queue behind each other.
        Calling it again, or before :meth:`join`, does nothing.

        Returns:
            What could not be done (empty when the leave was clean); each item is also
            logged as a warning.

        """
        thread, self._thread = self._thread, None
        if thread is None:
            return []
        problems: list[str] = []
        if self._sdk is not None:
            await self._step(thread, self._sdk.leave(), "the SDK's leave", problems)
        await self._step(thread, thread.cancel_the_rest(), "cancelling SDK tasks", problems)
        if not await thread.stop_async(LEAVE_STEP_SECONDS):
            problems.append(f"its SDK thread did not stop within {LEAVE_STEP_SECONDS:.0f} s")
        if problems:
            logger.warning(
                f"simulated participant {self.user_id} left {self.call_id} uncleanly: "
                + "; ".join(problems)
            )
        else:
            logger.debug(f"simulated participant {self.user_id} left {self.call_id}")
        return problems

    def leave_blocking(self) -> list[str]:
        """:meth:`leave` for synchronous code (e.g. a fixture's teardown); blocks until done.

        Must not be called from a thread whose event loop is running (use :meth:`leave`).
        """
        if self._thread is None:
            return []
        return asyncio.run(self.leave())

    @staticmethod
    async def _step(
        thread: SdkThread, coro: Coroutine[Any, Any, None], what: str, problems: list[str]
    ) -> None:
        try:
            await asyncio.wait_for(thread.run(coro), LEAVE_STEP_SECONDS)
        except asyncio.TimeoutError:
            problems.append(f"{what} did not finish within {LEAVE_STEP_SECONDS:.0f} s")
        except Exception as exc:  # reported, not raised: the rest of the leave still runs
            problems.append(f"{what} failed: {exc!r}")

    async def __aenter__(self) -> SimulatedParticipant:
        return await self.join()

    async def __aexit__(self, *exc: object) -> None:
        await self.leave()

    async def _run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        if self._thread is None:
            raise RuntimeError(f"{self.user_id} is not in the call (join() first)")
        return await self._thread.run(make())

    # -------------------------------------------------------------------- speak
    async def say(
        self, audio: str | Path | np.ndarray, *, rate: int = SAMPLE_RATE, repeat: bool = False
    ) -> float:
        """Speak audio into the call at real-time pace; returns when it has been sent.

        Args:
            audio: A path to a 16-bit WAV file, or int16 PCM samples (mono, or
                ``(channels, n)``), e.g. :func:`~pipecat_getstream.testing.signals.tone`.
            rate: The sample rate of ``audio`` when it is samples.
            repeat: Say it again and again, never returning: run it as a task and cancel
                the task to stop.

        Returns:
            The ``time.monotonic()`` at which the audio started.

        Raises:
            GetstreamConfigError: When ``audio`` is neither a path nor samples, or is empty.
            RuntimeError: Without a microphone, or before :meth:`join`.

        """
        if isinstance(audio, (str, Path)):
            samples = load_wav(audio)
        elif isinstance(audio, np.ndarray):
            channels = audio.shape[0] if audio.ndim == 2 else 1
            samples = resample(to_mono(audio, channels), rate, SAMPLE_RATE)
        else:
            raise GetstreamConfigError(f"say() takes a WAV path or samples, not {type(audio)}")
        if len(samples) == 0:
            raise GetstreamConfigError("say() needs at least one sample")
        if not self._seat.microphone:
            raise RuntimeError(f"{self.user_id} has no microphone (microphone=False)")
        return await self._run(lambda: self._speak(samples, repeat))

    async def _speak(self, samples: np.ndarray, repeat: bool) -> float:
        assert self._speaking is not None
        async with self._speaking:
            n = int(SAMPLE_RATE * CHUNK_SECONDS)
            start, sent = time.monotonic(), 0
            while True:
                for offset in range(0, len(samples), n):
                    chunk = samples[offset : offset + n]
                    await self._sdk.write_audio(chunk)
                    sent += len(chunk)
                    due = start + sent / SAMPLE_RATE - LEAD_SECONDS
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                if not repeat:
                    break
            await asyncio.sleep(max(0.0, start + sent / SAMPLE_RATE - time.monotonic()))
            return start

    # ------------------------------------------------------------------- listen
    def recording(self, user_id: str) -> Recording:
        """Everything heard from ``user_id`` so far (live: it keeps growing)."""
        return self._inbox.recording(user_id)

    def speakers(self) -> list[str]:
        """User ids this participant has heard audio from."""
        return self._inbox.speakers()

    @property
    def audio_frames(self) -> int:
        """Audio frames received from everyone (counted even when not recording)."""
        return self._inbox.audio_frames

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio received from everyone (counted even when not recording)."""
        return self._inbox.audio_seconds

    async def listen(self, seconds: float, from_user: str) -> np.ndarray:
        """Wait ``seconds`` and return the samples heard from ``from_user`` meanwhile."""
        since = time.monotonic()
        await asyncio.sleep(seconds)
        return self.recording(from_user).samples(since)

    async def wait_for_sound(
        self,
        from_user: str,
        *,
        since: float | None = None,
        timeout: float = 10.0,
        threshold: float = LOUD_RMS,
    ) -> float:
        """Wait until ``from_user`` is heard; returns the arrival time of the first sound.

        Args:
            from_user: The speaker.
            since: Only sound after this ``time.monotonic()`` counts (default: now).
            timeout: Seconds to wait.
            threshold: RMS above which audio counts as sound.

        Raises:
            TimeoutError: When nothing is heard in time.

        """
        start = time.monotonic() if since is None else since
        recording = self.recording(from_user)
        if not await wait_until(lambda: recording.heard_anything(start, threshold), timeout):
            raise TimeoutError(f"{self.user_id} heard nothing from {from_user} in {timeout} s")
        first = recording.first_sound(start, threshold)
        assert first is not None
        return first

    async def wait_for_silence(
        self, from_user: str, *, quiet: float = 0.5, timeout: float = 10.0
    ) -> float:
        """Wait until ``from_user`` has been quiet for ``quiet`` seconds; returns the last sound.

        Returns:
            The arrival time of the last sound (``joined_at`` when there was none).

        Raises:
            TimeoutError: When ``from_user`` keeps sounding for ``timeout`` seconds.

        """
        recording = self.recording(from_user)

        def quiet_now() -> bool:
            last = recording.last_sound()
            return time.monotonic() - (last if last is not None else self.joined_at) >= quiet

        if not await wait_until(quiet_now, timeout):
            raise TimeoutError(f"{from_user} did not fall silent within {timeout} s")
        return recording.last_sound() or self.joined_at

    # -------------------------------------------------------------------- video
    async def start_camera(
        self,
        width: int = 320,
        height: int = 240,
        *,
        rgb: tuple[int, int, int] = (0, 160, 0),
        fps: int = 30,
        codec: str = "",
        screen_share: bool = False,
    ) -> str:
        """Publish solid-colour video frames as camera (or, ``screen_share=True``, screen).

        Args:
            width: Frame width (even, 16 to 4096).
            height: Frame height (even, 16 to 4096).
            rgb: The colour.
            fps: Frames per second (1 to 60).
            codec: ``"vp8"``/``"vp9"`` on 7.x, ``"h264"`` on 3.x-6.x; empty: the SDK's own.
            screen_share: Publish as screen share (7.x only).

        Returns:
            The codec published.

        Raises:
            GetstreamConfigError: On a bad size or rate.
            NotImplementedError: When the installed SDK cannot publish it (the message says why).

        """
        for name, value in (("width", width), ("height", height)):
            if not 16 <= value <= 4096 or value % 2:
                raise GetstreamConfigError(f"{name} must be even and in [16, 4096], got {value}")
        if not 1 <= fps <= 60:
            raise GetstreamConfigError(f"fps must be in [1, 60], got {fps}")
        return str(
            await self._run(
                lambda: self._sdk.start_video(
                    VideoOut(width, height, rgb, fps, screen_share, codec)
                )
            )
        )

    async def start_screen_share(self, width: int = 640, height: int = 360, **kwargs: Any) -> str:
        """:meth:`start_camera` as screen share."""
        return await self.start_camera(width, height, screen_share=True, **kwargs)

    async def stop_video(self, *, screen_share: bool = False) -> None:
        """Unpublish the camera (or screen share); 7.x only."""
        await self._run(lambda: self._sdk.stop_video(screen_share))

    # ------------------------------------------------------------------- events
    async def send_event(self, payload: dict[str, Any]) -> None:
        """Send a custom event (``payload`` becomes the event's ``custom``) to the call."""
        if not isinstance(payload, dict):
            raise GetstreamConfigError(f"a custom event is a dict, not {type(payload)}")
        await self._run(lambda: self._sdk.send_event(payload))
