"""Keeps secrets out of the GetStream SDK's log output.

The SDK logs some responses in full at DEBUG level (the join response carries the SFU
token). A filter on the SDK's loggers masks every JWT and every registered secret before a
record reaches any handler.
"""

from __future__ import annotations

import logging
import re

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_LOGGER_PREFIXES = ("getstream", "websocket")
MASK = "[redacted]"


class SecretFilter(logging.Filter):
    """A logging filter that masks JWTs and registered secrets in a record's message."""

    def __init__(self) -> None:
        super().__init__("pipecat_getstream.call.redaction")
        self._secrets: set[str] = set()

    def add_secret(self, secret: str) -> None:
        """Mask ``secret`` wherever it appears from now on."""
        if secret:
            self._secrets.add(secret)

    def redact(self, text: str) -> str:
        """Return ``text`` with JWTs and registered secrets masked."""
        # Longest first: a secret that contains another is masked whole, not in part.
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return _JWT.sub(MASK, text) if "eyJ" in text else text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message in place; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler
            return True
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


_FILTER = SecretFilter()


def protect_sdk_logs(*secrets: str | None) -> None:
    """Install the filter on every SDK logger that exists now, and register ``secrets``.

    Called when a transport is created and again when it connects (the SDK creates some
    loggers lazily). Idempotent.
    """
    for secret in secrets:
        if secret:
            _FILTER.add_secret(secret)
    names = [name for name in logging.root.manager.loggerDict if name.startswith(_LOGGER_PREFIXES)]
    for name in [*_LOGGER_PREFIXES, *names]:
        log = logging.getLogger(name)
        if _FILTER not in log.filters:
            log.addFilter(_FILTER)
