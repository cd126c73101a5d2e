"""SecretFilter: JWTs and registered secrets never reach a log handler."""

from __future__ import annotations

import logging

from pipecat_getstream.call.redaction import MASK, SecretFilter, protect_sdk_logs

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiYWxpY2UifQ.c2lnbmF0dXJlLXBhcnQ"


def test_redact_masks_jwts_and_registered_secrets_only():
    f = SecretFilter()
    f.add_secret("s3cr3t-value")
    f.add_secret("")  # ignored
    text = f"token={JWT} secret=s3cr3t-value user=alice"
    assert f.redact(text) == f"token={MASK} secret={MASK} user=alice"
    assert f.redact("nothing to hide") == "nothing to hide"


def test_a_secret_inside_another_secret_does_not_uncover_the_rest():
    f = SecretFilter()
    f.add_secret("secret")
    f.add_secret("my-api-secret")
    assert f.redact("key my-api-secret and secret") == f"key {MASK} and {MASK}"


def test_filter_rewrites_message_arguments_and_exception_text_and_keeps_the_record():
    f = SecretFilter()
    f.add_secret("hunter2")
    record = logging.LogRecord(
        "getstream", logging.DEBUG, __file__, 1, "join %s %s", (JWT, "hunter2"), None
    )
    record.exc_text = f"Traceback: bad token {JWT}"
    assert f.filter(record) is True
    assert record.getMessage() == f"join {MASK} {MASK}"
    assert record.exc_text == f"Traceback: bad token {MASK}"


def test_a_malformed_record_is_passed_on_untouched():
    f = SecretFilter()
    record = logging.LogRecord("getstream", logging.INFO, __file__, 1, "%s %s", ("one",), None)
    assert f.filter(record) is True
    assert record.msg == "%s %s"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_protect_sdk_logs_covers_sdk_loggers_and_the_handlers_see_no_secret():
    child = logging.getLogger("getstream.video.rtc.test_child")
    protect_sdk_logs("my-api-secret", None)
    protect_sdk_logs("my-api-secret")  # idempotent
    assert sum(isinstance(x, SecretFilter) for x in child.filters) == 1
    collect = Collect()
    child.addHandler(collect)
    child.setLevel(logging.DEBUG)
    try:
        child.debug("join response %s with my-api-secret", JWT)
    finally:
        child.removeHandler(collect)
    assert collect.lines == [f"join response {MASK} with {MASK}"]
