"""The API secret and tokens never appear in logs, reprs, exceptions or event payloads.

The masking is each transport's own: while it is in a call its filter is on the SDK's
loggers; when it has left (or given up joining) ``logging`` is exactly as it was.
"""

import logging
import re
import uuid
from typing import Any

import aiortc.rtp
import jwt
import pytest
from loguru import logger

from pipecat_getstream import GetstreamConnectionError, GetstreamTransport
from pipecat_getstream.testing import LocalStreamServer
from pipecat_getstream.testing.signals import tone
from tests.e2e.bot import Bot, wait_until
from tests.e2e.human import Human

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}")
SECRET = "known-secret-" + "x" * 40


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_no_secret_or_token_in_any_log_line():
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="TRACE")
    handler = _Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        async with LocalStreamServer(api_secret=SECRET) as server:
            call_id = f"call-{uuid.uuid4().hex[:8]}"
            async with (
                Bot(server, call_id, video_in_enabled=True) as bot,
                Human(server, call_id, "alice", tone_hz=440) as human,
            ):
                await wait_until(lambda: len(bot.probe.samples("alice")) > 8000, timeout=15)
                await bot.say(tone(440, 0.5, rate=16000))
                await bot.transport.send_custom_event({"state": "speaking"})
                await human.send_custom({"hello": "bot"})
                await wait_until(lambda: bot.fired("on_stream_custom_event"), timeout=10)
                payloads = [repr(args) for _, args in bot.events]
            user_token = jwt.encode({"user_id": "pipecat-bot"}, SECRET, algorithm="HS256")
            bad = GetstreamTransport(
                api_key=server.api_key,
                api_secret=None,
                token=jwt.encode({"user_id": "pipecat-bot", "exp": 1}, SECRET, algorithm="HS256"),
                call_type="default",
                call_id=call_id,
                user_id="pipecat-bot",
                base_url=server.base_url,
            )
            from pipecat_getstream.stacks import supports_token_auth

            errors = []
            if supports_token_auth():
                with pytest.raises(GetstreamConnectionError) as info:
                    await bad.client.connect()
                errors.append(str(info.value))
    finally:
        logger.remove(sink)
        root.removeHandler(handler)
        root.setLevel(old_level)
    everything = (
        lines
        + handler.lines
        + payloads
        + errors
        + [repr(bot.transport), repr(bot.transport.client)]
    )
    assert len(lines) > 10 and len(handler.lines) > 10  # the capture really saw the session
    leaks = [
        line for line in everything if SECRET in line or user_token in line or JWT.search(line)
    ]
    assert leaks == [], leaks[:3]


LoggerState = tuple[int, bool, bool, tuple[logging.Handler, ...], tuple[Any, ...]]
#: The state ``logging.getLogger`` gives a logger it creates.
FRESH: LoggerState = (logging.NOTSET, True, False, (), ())


def logging_state() -> dict[str, Any]:
    """Every logger's level, propagation, handlers and filters, and logging's own settings."""
    loggers: dict[str, logging.Logger] = {"": logging.getLogger()}
    for name, item in list(logging.root.manager.loggerDict.items()):
        if isinstance(item, logging.Logger):
            loggers[name] = item
    state: dict[str, Any] = {
        name: (log.level, log.propagate, log.disabled, tuple(log.handlers), tuple(log.filters))
        for name, log in loggers.items()
    }
    state["[logging]"] = (
        logging.root.manager.disable,
        logging.getLoggerClass(),
        logging.getLogRecordFactory(),
    )
    state["[aiortc audio level]"] = aiortc.rtp.compute_audio_level_dbov
    return state


def changes_since(before: dict[str, Any]) -> dict[str, Any]:
    """What differs from ``before``; a logger created since counts only if it is not fresh."""
    after = logging_state()
    changed = {
        name: (before[name], after.get(name)) for name in before if after.get(name) != before[name]
    }
    changed.update(
        (name, (None, state))
        for name, state in after.items()
        if name not in before and state != FRESH
    )
    return changed


def masked(log: logging.Logger, secret: str) -> bool:
    """Whether a record carrying ``secret``, logged on ``log`` now, reaches a handler masked."""
    handler = _Collect()
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        log.debug("a record with %s", secret)
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    (line,) = handler.lines
    assert line.startswith("a record with ")
    return secret not in line


def an_sdk_logger() -> logging.Logger:
    """A logger of the SDK that exists (the SDK is imported by now)."""
    names = sorted(
        name
        for name, item in logging.root.manager.loggerDict.items()
        if name.startswith("getstream") and isinstance(item, logging.Logger)
    )
    assert names, "the SDK has no logger"
    return logging.getLogger(names[0])


async def test_transports_in_a_call_mask_their_secrets_and_leave_logging_as_it_was(local_server):
    call_id = f"call-{uuid.uuid4().hex[:8]}"
    sdk_log = an_sdk_logger()
    before = logging_state()
    first = Bot(local_server, call_id, user_id="bot-one")
    second = Bot(local_server, call_id, user_id="bot-two")
    assert changes_since(before) == {}  # creating transports changes nothing
    secret = local_server.api_secret
    assert not masked(sdk_log, secret)
    try:
        await first.start()
        await second.start()
        assert masked(sdk_log, secret)
        assert await first.end() is None
        assert masked(sdk_log, secret)  # the second transport is still in the call
        assert second.transport.client.connected
    finally:
        await first.end()
        assert await second.end() is None
    assert changes_since(before) == {}
    assert not masked(sdk_log, secret)


async def test_a_transport_that_cannot_join_leaves_logging_as_it_was(local_server):
    sdk_log = an_sdk_logger()
    before = logging_state()
    wrong = "wrong-secret-" + "y" * 40
    transport = GetstreamTransport(
        api_key=local_server.api_key,
        api_secret=wrong,
        call_type="default",
        call_id=f"call-{uuid.uuid4().hex[:8]}",
        user_id="pipecat-bot",
        base_url=local_server.base_url,
    )
    with pytest.raises(GetstreamConnectionError):
        await transport.client.connect()
    assert not transport.client.connected
    assert changes_since(before) == {}
    assert not masked(sdk_log, wrong)
