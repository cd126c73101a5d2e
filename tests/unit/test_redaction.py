"""SecretFilter and LogRedaction: a transport's secrets never reach a log handler.

A ``LogRedaction`` masks while attached and, detached, leaves every logger's filters as
they were.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from pipecat_getstream.call.redaction import MASK, LogRedaction, SecretFilter, sdk_loggers

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


@contextmanager
def collected(log: logging.Logger) -> Iterator[Collect]:
    """Collect ``log``'s DEBUG records; its handlers and level are restored on exit."""
    collect, level = Collect(), log.level
    log.addHandler(collect)
    log.setLevel(logging.DEBUG)
    try:
        yield collect
    finally:
        log.removeHandler(collect)
        log.setLevel(level)


def filters_of_sdk_loggers() -> dict[str, list[logging.Filter]]:
    return {log.name: list(log.filters) for log in sdk_loggers()}


def test_a_redaction_masks_its_secrets_while_attached_and_leaves_no_trace():
    child = logging.getLogger("getstream.video.rtc.test_child")
    before = filters_of_sdk_loggers()
    names_before = set(logging.root.manager.loggerDict)
    redaction = LogRedaction("my-api-secret", None)
    assert not redaction.attached
    redaction.attach()
    redaction.attach()  # idempotent
    assert redaction.attached
    assert child.filters.count(redaction.filter) == 1
    assert all(log.filters.count(redaction.filter) == 1 for log in sdk_loggers())
    with collected(child) as collect:
        child.debug("join response %s with my-api-secret", JWT)
        redaction.detach()
        child.debug("after %s with my-api-secret", JWT)
    assert collect.lines == [
        f"join response {MASK} with {MASK}",
        f"after {JWT} with my-api-secret",  # detached: the record is as logged
    ]
    assert not redaction.attached
    assert filters_of_sdk_loggers() == before
    assert set(logging.root.manager.loggerDict) == names_before  # it creates no logger
    redaction.detach()  # idempotent
    assert filters_of_sdk_loggers() == before


def test_attaching_again_covers_loggers_created_since():
    redaction = LogRedaction("late-secret")
    redaction.attach()
    try:
        late = logging.getLogger(f"getstream.test_late_{id(redaction)}")
        assert redaction.filter not in late.filters
        redaction.attach()
        assert late.filters == [redaction.filter]
    finally:
        redaction.detach()
    assert late.filters == []


def test_two_redactions_are_independent():
    child = logging.getLogger("websocket.test_two")
    first, second = LogRedaction("first-secret"), LogRedaction("second-secret")
    first.attach()
    second.attach()
    try:
        assert child.filters == [first.filter, second.filter]
        first.detach()
        assert child.filters == [second.filter]
        with collected(child) as collect:
            child.debug("first-secret second-secret")
        assert collect.lines == [f"first-secret {MASK}"]
    finally:
        first.detach()
        second.detach()
    assert child.filters == []


def test_only_the_sdk_loggers_get_the_filter():
    other = logging.getLogger("someone_else.getstream")
    redaction = LogRedaction("x-secret")
    redaction.attach()
    try:
        names = {log.name for log in sdk_loggers()}
        assert "someone_else.getstream" not in names
        assert other.filters == []
        assert logging.getLogger().filters == []
    finally:
        redaction.detach()
