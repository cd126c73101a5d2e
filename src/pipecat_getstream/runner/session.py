"""What a bot gets: its call, the request's body and a ready ``GetstreamTransport`` factory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from pipecat.runner.types import RunnerArguments

from pipecat_getstream.params import GetstreamParams
from pipecat_getstream.transport import GetstreamTransport


@dataclass(kw_only=True)
class GetstreamRunnerArguments(RunnerArguments):
    """Pipecat's runner arguments for one bot session in one GetStream call.

    A bot is ``async def bot(runner_args)``, as under Pipecat's development runner; it
    makes its transport with :meth:`transport` and, to let the server end it cleanly,
    runs its pipeline with :meth:`run` (or registers the task with :meth:`watch`).

    Attributes:
        call_type: The call's type.
        call_id: The call's id.
        api_key: The GetStream app's API key.
        api_secret: The app's API secret (the transport signs the bot's token with it).
        base_url: The GetStream API base URL (``None``: the cloud).
        bot_user_id: The user id the bot joins as.
        source: What started the session: ``"api"``, a webhook event type, or ``"cloud"``.
        session_id: The agent server's id of the session.

    """

    call_type: str
    call_id: str
    api_key: str
    api_secret: str = field(repr=False)
    base_url: str | None = None
    bot_user_id: str = "pipecat-bot"
    source: str = "api"
    #: Declared here too: Pipecat before 1.0 has no ``session_id`` in ``RunnerArguments``.
    session_id: str | None = None
    _transports: list[GetstreamTransport] = field(default_factory=list, repr=False)
    _tasks: list[Any] = field(default_factory=list, repr=False)
    _on_transport: Callable[[GetstreamTransport], None] | None = field(default=None, repr=False)

    @classmethod
    def from_runner_args(cls, runner_args: Any, **overrides: Any) -> GetstreamRunnerArguments:
        """These arguments from another host's runner arguments (e.g. Pipecat Cloud's).

        The call comes from ``runner_args.body`` (``call_type``, default ``"default"``, and
        ``call_id``); the credentials from ``STREAM_API_KEY``, ``STREAM_API_SECRET`` and
        ``GETSTREAM_BASE_URL``. Arguments that already are ``GetstreamRunnerArguments`` are
        returned as they are.

        Raises:
            ValueError: If the body names no call or the credentials are missing.

        """
        if isinstance(runner_args, cls):
            return runner_args
        body = getattr(runner_args, "body", None)
        body = body if isinstance(body, dict) else {}
        values: dict[str, Any] = {
            "call_type": body.get("call_type") or "default",
            "call_id": body.get("call_id"),
            "api_key": os.environ.get("STREAM_API_KEY", ""),
            "api_secret": os.environ.get("STREAM_API_SECRET", ""),
            "base_url": os.environ.get("GETSTREAM_BASE_URL") or None,
            "bot_user_id": body.get("bot_user_id") or "pipecat-bot",
            "body": body,
            "session_id": getattr(runner_args, "session_id", None) or str(uuid.uuid4()),
            "source": "cloud",
        }
        values.update(overrides)
        if not isinstance(values["call_id"], str) or not values["call_id"]:
            raise ValueError("the body must name the call: {'call_id': ..., 'call_type': ...}")
        if not values["api_key"] or not values["api_secret"]:
            raise ValueError("STREAM_API_KEY and STREAM_API_SECRET must be set")
        return cls(**values)

    @property
    def call_cid(self) -> str:
        """The call's ``"<type>:<id>"``."""
        return f"{self.call_type}:{self.call_id}"

    def transport(
        self, params: GetstreamParams | None = None, **options: Any
    ) -> GetstreamTransport:
        """A ``GetstreamTransport`` for this session's call, as the bot's user.

        Args:
            params: The transport's parameters.
            **options: Other keyword arguments of ``GetstreamTransport`` (``user_id``,
                ``user_name`` ...).

        """
        options.setdefault("user_id", self.bot_user_id)
        options.setdefault("base_url", self.base_url)
        transport = GetstreamTransport(
            self.api_key,
            self.api_secret,
            self.call_type,
            self.call_id,
            params=params,
            **options,
        )
        self._transports.append(transport)
        if self._on_transport is not None:
            self._on_transport(transport)
        return transport

    def watch(self, task: Any) -> Any:
        """Register a ``PipelineTask``: ending the session ends it explicitly. Returns it."""
        self._tasks.append(task)
        return task

    async def run(self, task: Any) -> None:
        """Run a ``PipelineTask`` to its end with Pipecat's ``PipelineRunner``.

        The task is registered with :meth:`watch`; the runner installs no signal handler
        (the server owns SIGTERM and SIGINT).
        """
        from pipecat.pipeline.runner import PipelineRunner

        self.watch(task)
        runner = PipelineRunner(handle_sigint=False)
        if hasattr(runner, "add_workers"):  # Pipecat 1.3+: register, then run
            await runner.add_workers(task)
            await runner.run()  # type: ignore[call-arg,unused-ignore]
        else:
            await runner.run(task)

    @property
    def transports(self) -> list[GetstreamTransport]:
        """The transports made for this session."""
        return list(self._transports)

    @property
    def pipeline_tasks(self) -> list[Any]:
        """The pipeline tasks registered with :meth:`watch` or :meth:`run`."""
        return list(self._tasks)

    def joined(self) -> bool:
        """Whether one of the session's transports is in the call."""
        return any(t.client.connected for t in self._transports)

    def others(self) -> list[str]:
        """User ids of the participants in the call beside the session's bots."""
        ours = {t.user_id for t in self._transports}
        people: set[str] = set()
        for transport in self._transports:
            if transport.client.connected:
                people.update(transport.get_participants())
        return sorted(people - ours)

    async def leave(self) -> None:
        """Make every transport of the session leave its call now (idempotent)."""
        for transport in self._transports:
            try:
                await transport.client.close()
            except Exception as exc:  # one transport's failure must not keep others in
                logger.warning("{}: leaving failed: {!r}", transport, exc)


def runner_arguments(
    *,
    call_type: str,
    call_id: str,
    body: dict[str, Any],
    session_id: str,
    api_key: str,
    api_secret: str,
    base_url: str | None,
    bot_user_id: str,
    source: str,
) -> GetstreamRunnerArguments:
    """Build a session's arguments; Pipecat's idle cancel is left to the server's limits."""
    args = GetstreamRunnerArguments(
        call_type=call_type,
        call_id=call_id,
        body=body,
        session_id=session_id,
        api_key=api_key,
        api_secret=api_secret,
        base_url=base_url,
        bot_user_id=bot_user_id,
        source=source,
    )
    args.pipeline_idle_timeout_secs = None
    return args
