"""A join that fails for good ends the pipeline with one fatal error that names the cause.

Each test runs a real pipeline (``PipelineTask`` + ``PipelineRunner``, as a user does)
whose transport cannot join the local server: a wrong secret, an expired token, or a
server that is not there (a closed port). The pipeline must end by itself; the awaits
carry a generous timeout only so that a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from typing import Any

import jwt
import pytest
from loguru import logger
from pipecat.frames.frames import ErrorFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask

from pipecat_getstream import GetstreamTransport
from pipecat_getstream.errors import GetstreamJoinError
from pipecat_getstream.pipeline.frames import OutputTransportMessageUrgentFrame
from pipecat_getstream.stacks import supports_token_auth

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

#: Only a guard against a hang: the pipeline ends within seconds.
HANG_GUARD_SECS = 60


def closed_port_url() -> str:
    """The URL of a local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def run_until_it_ends(transport: GetstreamTransport) -> tuple[list[ErrorFrame], list[Any]]:
    """Run ``input -> output`` until the pipeline ends by itself.

    Returns:
        The error frames the pipeline task saw, and every log record written meanwhile.

    """
    records: list[Any] = []
    sink = logger.add(lambda message: records.append(message.record), level="DEBUG")
    errors: list[ErrorFrame] = []
    task = PipelineTask(Pipeline([transport.input(), transport.output()]), params=PipelineParams())

    @task.event_handler("on_pipeline_error")
    async def on_pipeline_error(_task: Any, frame: ErrorFrame) -> None:
        errors.append(frame)

    # Messages queued behind the start: a failed join must not turn them into warnings.
    await task.queue_frames([OutputTransportMessageUrgentFrame(message={"n": n}) for n in range(5)])
    try:
        await asyncio.wait_for(PipelineRunner(handle_sigint=False).run(task), HANG_GUARD_SECS)
    finally:
        logger.remove(sink)
    return errors, records


def check_one_clear_report(
    transport: GetstreamTransport, errors: list[ErrorFrame], records: list[Any]
) -> GetstreamJoinError:
    assert len(errors) == 1, errors  # one report, not one per processor
    error = errors[0].exception
    assert isinstance(error, GetstreamJoinError)
    assert errors[0].error == str(error)
    assert not transport.client.connected
    reported = [r for r in records if r["function"] == "push_error_frame"]
    assert len(reported) == 1 and "could not join call" in reported[0]["message"]
    ours = [r for r in records if r["name"].startswith("pipecat_getstream")]
    assert not [r for r in ours if r["level"].no >= logger.level("ERROR").no]
    assert not [r for r in records if "could not send" in r["message"]]
    return error


def bot(server: Any, **overrides: Any) -> GetstreamTransport:
    options: dict[str, Any] = {
        "api_key": server.api_key,
        "api_secret": server.api_secret,
        "base_url": server.base_url,
    }
    options.update(overrides)
    return GetstreamTransport(
        call_type="default", call_id=f"call-{uuid.uuid4().hex[:10]}", user_id="bot", **options
    )


async def test_a_wrong_secret_ends_the_pipeline_naming_the_credentials(local_server):
    transport = bot(local_server, api_secret="definitely-not-the-secret")
    errors, records = await run_until_it_ends(transport)
    error = check_one_clear_report(transport, errors, records)
    assert error.cause == "credentials"
    assert "refused the credentials" in str(error)
    assert "definitely-not-the-secret" not in " ".join(r["message"] for r in records)


async def test_an_expired_token_ends_the_pipeline_naming_the_expiry(local_server):
    if not supports_token_auth():
        pytest.skip("token-only clients need getstream>=3.5")
    expired = int(time.time()) - 3600
    token = jwt.encode({"user_id": "bot", "exp": expired}, local_server.api_secret, "HS256")
    transport = bot(local_server, api_secret=None, token=token)
    errors, records = await run_until_it_ends(transport)
    error = check_one_clear_report(transport, errors, records)
    assert error.cause == "token_expired"
    assert "token has expired" in str(error)


async def test_an_unreachable_server_ends_the_pipeline_naming_it(local_server):
    transport = bot(local_server, base_url=closed_port_url())
    errors, records = await run_until_it_ends(transport)
    error = check_one_clear_report(transport, errors, records)
    assert error.cause == "unreachable"
    assert "could not be reached" in str(error)
    retried = [r for r in records if "retrying in" in r["message"]]
    assert len(retried) == 2  # the network may come back: three attempts, then the end
