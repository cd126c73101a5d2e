"""Why a participant left: the ``reason`` of ``on_participant_left``.

The SFU's ``ParticipantLeft`` carries no reason (on any SDK generation). GetStream's
coordinator does: it sends watchers of the call ``call.session_participant_left`` with a
``reason`` for every departure and ``call.kicked_user`` when a moderator removes someone.
:class:`DepartureReasons` joins the two: a departure the SFU reports waits up to
:data:`REASON_WAIT_SECS` for the coordinator's word on it (usually already there, or a
few milliseconds behind), then is delivered with the best reason known, ``"left"`` when
none came. Departures caused by the end of the call are reported by the client as
``"call_ended"`` without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

LeaveReason = Literal["left", "timeout", "removed", "call_ended"]

#: The reasons ``on_participant_left`` passes.
LEFT: LeaveReason = "left"
TIMEOUT: LeaveReason = "timeout"
REMOVED: LeaveReason = "removed"
CALL_ENDED: LeaveReason = "call_ended"

#: Longest a departure waits for the coordinator's reason before it is reported as "left".
REASON_WAIT_SECS = 0.5

#: Reasons received before the SFU's departure are kept this long.
HINT_TTL_SECS = 30.0

_RANK = {LEFT: 0, CALL_ENDED: 1, TIMEOUT: 2, REMOVED: 3}

_REMOVED_WORDS = ("kick", "remov", "block", "ban")
_TIMEOUT_WORDS = ("timeout", "timed out", "time out", "deadline", "lost", "disconnect")


def reason_from_text(text: str) -> LeaveReason:
    """Map GetStream's free-text departure reason to a :data:`LeaveReason`.

    Args:
        text: The ``reason`` of ``call.session_participant_left``.

    Returns:
        ``"removed"`` (kicked, blocked, banned), ``"timeout"`` (the connection was lost
        and not restored in time), ``"call_ended"``, or ``"left"`` for anything else.

    """
    lowered = text.lower()
    if any(word in lowered for word in _REMOVED_WORDS):
        return REMOVED
    if any(word in lowered for word in _TIMEOUT_WORDS):
        return TIMEOUT
    if "call" in lowered and "end" in lowered:
        return CALL_ENDED
    return LEFT


def reason_hint(event: Mapping[str, Any]) -> tuple[str, str | None, LeaveReason] | None:
    """Read a departure reason from a coordinator event.

    Args:
        event: A coordinator event as the SDK delivers it (a JSON dict).

    Returns:
        ``(user_id, session_id or None, reason)``, or ``None`` for other events.

    """
    kind = event.get("type")
    if kind in ("call.kicked_user", "call.blocked_user"):
        user = event.get("user")
        user_id = user.get("id") if isinstance(user, Mapping) else event.get("user_id")
        return (str(user_id), None, REMOVED) if user_id else None
    if kind == "call.session_participant_left":
        participant = event.get("participant")
        if not isinstance(participant, Mapping):
            return None
        user = participant.get("user")
        user_id = user.get("id") if isinstance(user, Mapping) else None
        if not user_id:
            return None
        session_id = participant.get("user_session_id") or None
        text = event.get("reason")
        reason = reason_from_text(text) if isinstance(text, str) else LEFT
        return str(user_id), (str(session_id) if session_id else None), reason
    return None


class DepartureReasons:
    """Holds each SFU departure until its reason is known (or a short wait passes).

    Args:
        wait_secs: Longest a departure waits for a reason.

    """

    def __init__(self, wait_secs: float = REASON_WAIT_SECS) -> None:
        self._wait = wait_secs
        self._hints: dict[str, list[tuple[str | None, LeaveReason, float]]] = {}
        self._pending: dict[
            tuple[str, str], tuple[Callable[[LeaveReason], None], asyncio.TimerHandle]
        ] = {}

    def _best(self, user_id: str, session_id: str) -> LeaveReason | None:
        now = time.monotonic()
        hints = [h for h in self._hints.get(user_id, []) if now - h[2] < HINT_TTL_SECS]
        if hints:
            self._hints[user_id] = hints
        else:
            self._hints.pop(user_id, None)
        matching: list[LeaveReason] = [r for s, r, _ in hints if s is None or s == session_id]
        if not matching:
            return None
        return max(matching, key=lambda reason: _RANK[reason])

    def hint(self, user_id: str, session_id: str | None, reason: LeaveReason) -> None:
        """The coordinator said why ``user_id`` (one session, or all) left."""
        self._hints.setdefault(user_id, []).append((session_id, reason, time.monotonic()))
        for key in [k for k in self._pending if k[0] == user_id]:
            if session_id is None or key[1] == session_id:
                self._deliver(key)

    def depart(self, user_id: str, session_id: str, deliver: Callable[[LeaveReason], None]) -> None:
        """The SFU says a session left: ``deliver(reason)`` now or after the wait."""
        key = (user_id, session_id)
        if key in self._pending:
            return
        timer = asyncio.get_running_loop().call_later(self._wait, self._deliver, key)
        self._pending[key] = (deliver, timer)
        if self._best(user_id, session_id) is not None:
            self._deliver(key)

    def _deliver(self, key: tuple[str, str]) -> None:
        entry = self._pending.pop(key, None)
        if entry is None:
            return
        deliver, timer = entry
        timer.cancel()
        reason = self._best(*key) or LEFT
        # A reason explains one departure: a later one of the same user needs its own.
        user_id, session_id = key
        rest = [h for h in self._hints.get(user_id, []) if h[0] not in (None, session_id)]
        if rest:
            self._hints[user_id] = rest
        else:
            self._hints.pop(user_id, None)
        deliver(reason)

    def cancel(self) -> None:
        """Forget every held departure and reason (the bot left the call)."""
        for _deliver, timer in self._pending.values():
            timer.cancel()
        self._pending.clear()
        self._hints.clear()
