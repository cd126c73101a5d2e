"""The API secret and tokens never appear in logs, reprs, exceptions or event payloads."""

import logging
import re
import uuid

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
