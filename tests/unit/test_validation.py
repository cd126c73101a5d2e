import math

import jwt
import pytest

from pipecat_getstream import GetstreamConfigError, GetstreamParams, GetstreamTransport
from pipecat_getstream.call.custom_events import (
    MAX_CUSTOM_EVENT_BYTES,
    encode_custom_event,
    parse_incoming_event,
)
from pipecat_getstream.utils import GetstreamRESTHelper

SECRET = "s3cr3t-value-never-logged"


def make(**overrides):
    kwargs = dict(
        api_key="key", api_secret=SECRET, call_type="default", call_id="c1", user_id="bot"
    )
    kwargs.update(overrides)
    return GetstreamTransport(**kwargs)


def test_defaults_match_the_spec():
    p = GetstreamParams()
    assert (p.audio_in_enabled, p.audio_out_enabled) == (True, True)
    assert (p.audio_in_sample_rate, p.audio_out_sample_rate) == (16000, 16000)
    assert (p.video_in_enabled, p.video_out_enabled) == (False, False)
    assert (p.video_out_framerate, p.video_out_is_live) == (30, False)


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"api_key": ""}, "api_key"),
        ({"api_key": None}, "api_key"),
        ({"api_secret": None}, "exactly one"),
        ({"api_secret": ""}, "exactly one"),
        ({"token": "a.b.c"}, "not both"),
        ({"api_secret": None, "token": "not-a-jwt"}, "JWT"),
        ({"call_type": ""}, "call_type"),
        ({"call_type": "no spaces"}, "call_type"),
        ({"call_id": "x" * 65}, "call_id"),
        ({"call_id": "bad/id"}, "call_id"),
        ({"user_id": ""}, "user_id"),
        ({"user_id": "bad id!"}, "user_id"),
        ({"base_url": "not a url"}, "base_url"),
        ({"base_url": "ftp://host"}, "base_url"),
        ({"base_url": "http://host:99999"}, "port"),
        ({"params": GetstreamParams(audio_in_sample_rate=0)}, "audio_in_sample_rate"),
        ({"params": GetstreamParams(audio_out_sample_rate=-8000)}, "audio_out_sample_rate"),
        ({"params": GetstreamParams(video_out_framerate=0)}, "video_out_framerate"),
        ({"params": GetstreamParams(audio_out_lead_secs=-0.1)}, "audio_out_lead_secs"),
        ({"params": GetstreamParams(audio_out_lead_secs=float("nan"))}, "audio_out_lead_secs"),
        ({"params": GetstreamParams(video_out_enabled=True, video_out_width=0)}, "video_out_width"),
    ],
)
def test_bad_arguments_raise_a_clear_error_without_the_secret(overrides, fragment):
    with pytest.raises(GetstreamConfigError) as info:
        make(**overrides)
    assert fragment in str(info.value)
    assert SECRET not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_token_for_another_user_is_refused():
    token = jwt.encode({"user_id": "someone-else"}, "x", algorithm="HS256")
    with pytest.raises(GetstreamConfigError, match="someone-else"):
        make(api_secret=None, token=token)


def test_secret_not_in_repr():
    t = make()
    for text in (repr(t), str(t), repr(t.client), repr(t.input()), repr(t.output())):
        assert SECRET not in text


def test_custom_event_limits():
    assert encode_custom_event({"a": 1}) == {"a": 1}
    # Exactly 5 KB serialised is allowed; one byte more is not.
    base = len('{"k": ""}')
    ok = {"k": "x" * (MAX_CUSTOM_EVENT_BYTES - base)}
    assert encode_custom_event(ok) == ok
    with pytest.raises(ValueError, match="5120"):
        encode_custom_event({"k": "x" * (MAX_CUSTOM_EVENT_BYTES - base + 1)})
    # Unicode that grows when encoded: 2000 characters, 6000 bytes.
    with pytest.raises(ValueError, match="bytes"):
        encode_custom_event({"k": "€" * 2000})
    for bad in (
        {"b": b"bytes"},
        {"s": {1, 2}},
        {"n": math.nan},
        {"i": [math.inf]},
        ["list"],
        "text",
        None,
    ):
        with pytest.raises(ValueError):
            encode_custom_event(bad)


def test_malformed_incoming_events_are_skipped():
    assert parse_incoming_event("nope") is None
    assert parse_incoming_event({"type": "custom"}) is None
    assert parse_incoming_event({"custom": "not a dict"}) is None
    assert parse_incoming_event({"custom": {"x": "y" * 100_000}}) is None
    event = {"type": "custom", "custom": {"a": 1}, "user": {"id": "u"}}
    assert parse_incoming_event(event) is event


def test_rest_helper_tokens():
    helper = GetstreamRESTHelper("key", SECRET)
    token = helper.create_token("demo-user", expiration=3600)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["user_id"] == "demo-user" and claims["exp"] - claims["iat"] >= 3600
    assert "exp" not in jwt.decode(helper.create_token("demo-user"), SECRET, algorithms=["HS256"])
    for bad in (0, -5, 1.5, True):
        with pytest.raises(ValueError):
            helper.create_token("demo-user", expiration=bad)
    with pytest.raises(ValueError):
        helper.create_token("bad id")
    with pytest.raises(ValueError):
        GetstreamRESTHelper("key", "")
    assert SECRET not in repr(helper)
