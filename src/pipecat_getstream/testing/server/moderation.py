"""``LocalStreamServer`` methods about people: moderation and what the server recorded."""

from __future__ import annotations

from typing import Any

from pipecat_getstream.testing.server.coordinator.routes import Coordinator
from pipecat_getstream.testing.server.server_thread import ServerThread
from pipecat_getstream.testing.server.sfu.core import Sfu
from pipecat_getstream.testing.server.state import ServerState


class PeopleMixin:
    """Kicks, and the user upserts, call get-or-creates and closed captions received."""

    _loop_thread: ServerThread
    _state: ServerState
    _coordinator: Coordinator | None
    _sfu: Sfu | None

    def remove_participant(self, call_type: str, call_id: str, user_id: str) -> int:
        """Kick a user out of a call, as GetStream's ``kick_user`` does.

        Sends ``call.kicked_user`` to the call's watchers, ``call_ended`` (reason kicked)
        to the user, then ``call.session_participant_left`` (reason ``"kicked: ..."``)
        and ``participant_left`` to the others. Returns the number of sessions removed.
        """

        async def kick() -> int:
            call = self._state.find_call(call_type, call_id)
            if call is None or self._coordinator is None:
                return 0
            return await self._coordinator.events.kick(call, user_id)

        return self._loop_thread.run(kick())

    @property
    def rest_log(self) -> list[tuple[str, dict[str, Any]]]:
        """User upserts and call get-or-creates received, in order.

        Entries are ``("upsert_users", {"id", "name"})`` and
        ``("get_or_create", {"cid", "created_by_id"})``.
        """
        return list(self._state.rest_log)

    @property
    def closed_captions(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Closed captions accepted, as ``(call_cid, acting user id, caption)``.

        ``caption`` is the ``CallClosedCaption`` delivered to watchers (``speaker_id``,
        ``text``, ``start_time``, ``end_time``, ...).
        """
        return list(self._state.closed_captions)

    def cut_off_participant(self, user_id: str) -> int:
        """Take a participant's network away for good, as a device that lost it does.

        Aborts the user's signaling sockets and refuses their new ones, so their SDK
        cannot reconnect; after ``fast_reconnect_deadline_s`` the server ends their
        sessions (``call.session_participant_left`` reason ``"timeout: ..."``, then
        ``participant_left``). :meth:`restore_participant` lifts it. Returns the number
        of sockets aborted.
        """

        async def cut() -> int:
            assert self._sfu is not None
            self._sfu.cut_off.add(user_id)
            return sum(1 for s in self._state.sessions_of(user_id) if self._sfu.drop_socket(s))

        return self._loop_thread.run(cut())

    def restore_participant(self, user_id: str) -> None:
        """Accept a participant cut off by :meth:`cut_off_participant` again."""

        async def restore() -> None:
            assert self._sfu is not None
            self._sfu.cut_off.discard(user_id)

        self._loop_thread.run(restore())
