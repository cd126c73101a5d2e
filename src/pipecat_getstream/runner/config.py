"""The agent server's settings: typed, validated, read from arguments or the environment."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

#: Environment variable of each setting that can come from the environment.
ENV_NAMES = {
    "api_key": "STREAM_API_KEY",
    "api_secret": "STREAM_API_SECRET",
    "base_url": "GETSTREAM_BASE_URL",
    "host": "RUNNER_HOST",
    "port": "RUNNER_PORT",
    "auth_token": "RUNNER_API_TOKEN",
    "bot_user_id": "RUNNER_BOT_USER_ID",
    "max_sessions": "RUNNER_MAX_SESSIONS",
    "max_sessions_per_call": "RUNNER_MAX_SESSIONS_PER_CALL",
    "idle_timeout_s": "RUNNER_IDLE_TIMEOUT",
    "max_duration_s": "RUNNER_MAX_DURATION",
    "join_timeout_s": "RUNNER_JOIN_TIMEOUT",
    "stop_grace_s": "RUNNER_STOP_GRACE",
    "drain_timeout_s": "RUNNER_DRAIN_TIMEOUT",
    "webhook_events": "RUNNER_WEBHOOK_EVENTS",
    "webhook_call_types": "RUNNER_WEBHOOK_CALL_TYPES",
    "custom_event_type": "RUNNER_CUSTOM_EVENT_TYPE",
}

_SECRETS = ("api_secret", "auth_token")


@dataclass(frozen=True)
class RunnerConfig:
    """Settings of one agent server process.

    Attributes:
        api_key: The GetStream app's API key.
        api_secret: The app's API secret: bots' tokens and webhook signatures.
        base_url: The GetStream API's base URL (``None``: the cloud).
        host: Address the HTTP server binds (loopback unless told otherwise).
        port: Its port (``0``: a free one).
        auth_token: Bearer token the sessions API requires; without one the sessions
            API refuses every request and only signed webhooks start bots.
        bot_user_id: The user id bots join calls as.
        max_sessions: Live sessions this process carries at most.
        max_sessions_per_call: Live sessions in one call at most.
        idle_timeout_s: A session ends after its bot has been alone this long.
        max_duration_s: A session ends after this long, whatever happens.
        join_timeout_s: A bot that has not joined its call by then ends as failed.
        stop_grace_s: How long an ending pipeline gets at each step (end, then cancel).
        drain_timeout_s: On SIGTERM, how long live sessions may run before being ended.
        webhook_events: Webhook event types that start a bot: ``call.session_started``,
            ``call.ring`` (when ``bot_user_id`` is a member), ``custom`` (a custom event
            whose ``type`` is ``custom_event_type``).
        webhook_call_types: Call types webhooks start bots for (empty: every type).
        custom_event_type: The ``custom.type`` of a custom event that asks for a bot.
        retry_after_s: The ``Retry-After`` of a refusal at capacity.
        dedupe_size: Webhook ids remembered to drop retried deliveries.

    """

    api_key: str
    api_secret: str = field(repr=False)
    base_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 7860
    auth_token: str | None = field(default=None, repr=False)
    bot_user_id: str = "pipecat-bot"
    max_sessions: int = 10
    max_sessions_per_call: int = 1
    idle_timeout_s: float = 60.0
    max_duration_s: float = 3600.0
    join_timeout_s: float = 30.0
    stop_grace_s: float = 5.0
    drain_timeout_s: float = 60.0
    webhook_events: tuple[str, ...] = ("call.session_started",)
    webhook_call_types: tuple[str, ...] = ()
    custom_event_type: str = "pipecat.start_bot"
    retry_after_s: int = 5
    dedupe_size: int = 4096

    def __post_init__(self) -> None:
        """Check every value.

        Raises:
            ValueError: Naming the first setting that is wrong.

        """
        if not self.api_key or not self.api_secret:
            raise ValueError(
                "api_key and api_secret are required (STREAM_API_KEY, STREAM_API_SECRET)"
            )
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")
        if not self.bot_user_id:
            raise ValueError("bot_user_id must not be empty")
        for name in ("max_sessions", "max_sessions_per_call", "retry_after_s", "dedupe_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in (
            "idle_timeout_s",
            "max_duration_s",
            "join_timeout_s",
            "stop_grace_s",
            "drain_timeout_s",
        ):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value}")
        if self.auth_token is not None and len(self.auth_token) < 16:
            raise ValueError("auth_token must be at least 16 characters")

    @property
    def safe_dict(self) -> dict[str, Any]:
        """The settings with secrets masked (what the server logs when it starts)."""
        result = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in _SECRETS:
            result[name] = "***" if result[name] else None
        return result

    def with_overrides(self, **changes: Any) -> RunnerConfig:
        """A copy with some settings changed (validated again)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> RunnerConfig:
        """Settings from environment variables (see :data:`ENV_NAMES`), then ``overrides``.

        Raises:
            ValueError: If a variable does not parse or a setting is invalid.

        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        types = {f.name: f.type for f in fields(cls)}
        for name, var in ENV_NAMES.items():
            raw = env.get(var)
            if raw is None or raw == "":
                continue
            values[name] = _parse(name, str(types[name]), raw, var)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add an option for each setting (``--max-sessions`` ...); unset ones stay ``None``."""
        for f in fields(cls):
            if f.name in _SECRETS or f.name == "api_key":
                continue  # secrets come from the environment, never a command line
            option = "--" + f.name.removesuffix("_s").replace("_", "-")
            var = ENV_NAMES.get(f.name)
            hint = f" (env {var})" if var else ""
            parser.add_argument(
                option, dest=f.name, default=None, help=f"default {f.default!r}{hint}"
            )

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, env: Mapping[str, str] | None = None
    ) -> RunnerConfig:
        """Settings from parsed options (see :meth:`add_arguments`) over the environment.

        Raises:
            ValueError: If an option does not parse or a setting is invalid.

        """
        types = {f.name: str(f.type) for f in fields(cls)}
        given: dict[str, Any] = {}
        for name, raw in vars(args).items():
            if name in types and raw is not None:
                given[name] = _parse(name, types[name], str(raw), "--" + name)
        return cls.from_env(env, **given)


def _parse(name: str, type_name: str, raw: str, source: str) -> Any:
    try:
        if type_name.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
    except ValueError:
        raise ValueError(f"{source}: {name} must be a {type_name}, got {raw!r}") from None
    return raw
