"""Pure logic of webhooks and settings: signatures (against the SDK's own check), event
policy, retry de-duplication, and settings validation."""

from __future__ import annotations

import argparse
import gzip
import json

import pytest
from getstream.webhook import verify_webhook_signature

from pipecat_getstream.runner import RunnerConfig
from pipecat_getstream.runner.webhooks import (
    DeliveryLog,
    WebhookRejected,
    decode,
    start_request,
    verify_signature,
)
from pipecat_getstream.testing.server.webhooks import sign

SECRET = "s3cr3t" * 8


def config(**changes) -> RunnerConfig:
    return RunnerConfig(api_key="key", api_secret=SECRET, **changes)


def test_signatures_agree_with_the_sdks_check():
    body = json.dumps({"type": "call.session_started", "call_cid": "default:x"}).encode()
    signature = sign(body, SECRET)
    assert verify_webhook_signature(body, signature, SECRET)
    assert verify_signature(body, signature, SECRET)
    assert not verify_signature(body, signature, SECRET + "x")
    assert not verify_signature(body + b" ", signature, SECRET)
    assert not verify_signature(body, None, SECRET)
    assert decode(gzip.compress(body), signature, SECRET)["call_cid"] == "default:x"
    with pytest.raises(WebhookRejected) as rejected:
        decode(b"[]", sign(b"[]", SECRET), SECRET)
    assert rejected.value.status == 400
    with pytest.raises(WebhookRejected) as rejected:
        decode(body, "", SECRET)
    assert rejected.value.status == 401


def test_which_events_start_a_bot():
    started = {"type": "call.session_started", "call_cid": "default:a", "call": {}}
    assert start_request(started, config()).call_id == "a"
    assert start_request(started, config(webhook_events=("custom",))) is None
    assert start_request(started, config(webhook_call_types=("livestream",))) is None
    no_cid = {"type": "call.session_started", "call": {"cid": "audio_room:b"}}
    assert start_request(no_cid, config()).call_type == "audio_room"
    ring = {"type": "call.ring", "call_cid": "default:r", "members": [{"user_id": "ann"}]}
    ringing = config(webhook_events=("call.ring",))
    assert start_request(ring, ringing) is None
    ring["members"].append({"user_id": "pipecat-bot"})
    assert start_request(ring, ringing).call_id == "r"
    custom = {
        "type": "custom",
        "call_cid": "default:c",
        "custom": {"type": "pipecat.start_bot", "persona": "pirate"},
        "user": {"id": "ann"},
    }
    asking = config(webhook_events=("custom",))
    request = start_request(custom, asking)
    assert request.body["persona"] == "pirate" and request.body["event"] is custom
    assert start_request({**custom, "user": {"id": "pipecat-bot"}}, asking) is None
    assert start_request({**custom, "custom": {"type": "other"}}, asking) is None


def test_retries_are_recognised_until_forgotten():
    log = DeliveryLog(2)
    assert log.key("id-1", b"x") == "id-1"
    assert log.key(None, b"x") == log.key(None, b"x") != log.key(None, b"y")
    assert log.first_time("a") and not log.first_time("a")
    log.forget("a")
    assert log.first_time("a")
    assert log.first_time("b") and log.first_time("c")  # "a" is now the oldest: forgotten
    assert log.first_time("a")


def test_settings_are_validated_and_read_from_the_environment():
    with pytest.raises(ValueError, match="api_key and api_secret"):
        RunnerConfig(api_key="", api_secret="x")
    with pytest.raises(ValueError, match="max_sessions must be at least 1"):
        config(max_sessions=0)
    with pytest.raises(ValueError, match="idle_timeout_s must be a positive"):
        config(idle_timeout_s=float("nan"))
    with pytest.raises(ValueError, match="auth_token must be at least 16"):
        config(auth_token="short")
    env = {
        "STREAM_API_KEY": "k",
        "STREAM_API_SECRET": "s",
        "RUNNER_MAX_SESSIONS": "3",
        "RUNNER_IDLE_TIMEOUT": "2.5",
        "RUNNER_WEBHOOK_EVENTS": "call.ring, custom",
    }
    settings = RunnerConfig.from_env(env)
    assert (settings.max_sessions, settings.idle_timeout_s) == (3, 2.5)
    assert settings.webhook_events == ("call.ring", "custom")
    with pytest.raises(ValueError, match="RUNNER_MAX_SESSIONS: max_sessions must be a int"):
        RunnerConfig.from_env({**env, "RUNNER_MAX_SESSIONS": "many"})
    parser = argparse.ArgumentParser()
    RunnerConfig.add_arguments(parser)
    args = parser.parse_args(["--max-sessions", "5", "--drain-timeout", "9", "--host", "0.0.0.0"])
    settings = RunnerConfig.from_args(args, env)
    assert (settings.max_sessions, settings.drain_timeout_s, settings.host) == (5, 9.0, "0.0.0.0")
    assert settings.safe_dict["api_secret"] == "***"
    assert "api_secret" not in repr(settings)
