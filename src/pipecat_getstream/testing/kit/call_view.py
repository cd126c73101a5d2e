"""What a simulated participant saw of the call: video, custom events, captions, people.

:class:`CallView` is the read side of
:class:`~pipecat_getstream.testing.SimulatedParticipant`: everything here reads the
participant's :class:`~pipecat_getstream.testing.kit.inbox.Inbox` (filled on the participant's
own thread) or its SDK's participant state, and the waits poll it from the caller's loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipecat_getstream.testing.kit.inbox import Inbox
from pipecat_getstream.testing.signals import wait_until


class CallView:
    """Read-only views of what a participant received (mixed into ``SimulatedParticipant``)."""

    user_id: str
    _inbox: Inbox
    _sdk: Any

    # -------------------------------------------------------------------- video
    def video_sizes(self, user_id: str, kind: str = "video") -> list[tuple[int, int]]:
        """``(width, height)`` of each frame decoded from ``user_id``.

        ``kind`` is ``"video"`` or ``"screen_share"``; needs ``receive_video=True``.
        """
        return self._inbox.video_sizes(user_id, kind)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The custom events received (whole events: ``type``, ``user``, ``custom``, ...)."""
        return list(self._inbox.events)

    async def wait_for_event(
        self, match: Callable[[dict[str, Any]], bool] | None = None, *, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Wait for a custom event (received before or after the call) that ``match`` accepts.

        Args:
            match: Tells the wanted event; default: any.
            timeout: Seconds to wait.

        Returns:
            The first matching event.

        Raises:
            TimeoutError: When none comes in time.

        """
        accept = match or (lambda _: True)

        def found() -> dict[str, Any] | None:
            return next((e for e in list(self._inbox.events) if accept(e)), None)

        if not await wait_until(lambda: found() is not None, timeout):
            raise TimeoutError(f"{self.user_id} got no matching custom event in {timeout} s")
        event = found()
        assert event is not None
        return event

    @property
    def joined(self) -> list[str]:
        """User ids the SDK announced as joining (this participant not included)."""
        return list(self._inbox.joined)

    @property
    def left(self) -> list[str]:
        """User ids the SDK announced as leaving."""
        return list(self._inbox.left)

    @property
    def call_ended(self) -> bool:
        """Whether the call ended for this participant."""
        return self._inbox.call_ended.is_set()

    def participants(self) -> list[str]:
        """User ids in the SDK's own participant state (this participant included)."""
        return list(self._sdk.participants()) if self._sdk is not None else []

    async def wait_for_participant(self, user_id: str, *, timeout: float = 10.0) -> None:
        """Wait until ``user_id`` is in the call as this participant's SDK sees it.

        Raises:
            TimeoutError: When it does not appear in time.

        """

        def present() -> bool:
            # 3.x-6.x key their state by track prefix; the join event is the other witness.
            return user_id in self.participants() or user_id in self._inbox.joined

        if not await wait_until(present, timeout):
            raise TimeoutError(f"{self.user_id} did not see {user_id} join in {timeout} s")

    def names(self) -> dict[str, str]:
        """The display names this participant's SDK has shown for others, by user id."""
        if self._sdk is not None:
            self._sdk.participants()  # 7.x: names are read from the SDK's state
        return self._inbox.names()

    # ----------------------------------------------------------------- captions
    @property
    def captions(self) -> list[dict[str, Any]]:
        """Closed captions received (``call.closed_caption``), oldest first.

        Each is the event's ``closed_caption``: ``speaker_id``, ``text``, ``start_time``
        and ``end_time`` (ISO 8601), as GetStream delivers them.
        """
        return list(self._inbox.captions)

    async def wait_for_captions(
        self, count: int = 1, *, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` captions have arrived; returns all received so far.

        Raises:
            TimeoutError: When fewer arrive in time.

        """
        if not await wait_until(lambda: len(self._inbox.captions) >= count, timeout):
            got = len(self._inbox.captions)
            raise TimeoutError(f"{self.user_id} got {got} of {count} captions in {timeout} s")
        return self.captions
