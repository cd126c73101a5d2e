"""Keeps one transport's secrets out of the GetStream SDK's log output while it is in a call.

The SDK logs some responses in full at DEBUG level (the join response carries the SFU
token). Each :class:`~pipecat_getstream.call.client.GetstreamClient` owns a
:class:`LogRedaction` with its own secrets: the client attaches its filter to the SDK's
standard-library loggers when it joins and removes it when it leaves or gives up, so
creating and closing transports leaves ``logging`` as it was. Several transports in one
process each add their own filter; each masks every JWT and its own secrets.

A logger's filters apply only to records logged on that logger, not to its children's, so
the filter goes on every SDK logger that exists when it is attached; the client attaches
again once the join has created the loggers it creates lazily. The filter never creates a
logger.
"""

from __future__ import annotations

import logging
import re

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
#: Loggers whose names start with these are the SDK's (``getstream``, ``getstream_rtc``)
#: and its WebSocket libraries' (``websocket``, ``websockets``).
SDK_LOGGER_PREFIXES = ("getstream", "websocket")
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


def sdk_loggers() -> list[logging.Logger]:
    """The SDK's loggers that exist now (placeholders of ``logging`` are not loggers yet)."""
    return [
        item
        for name, item in list(logging.root.manager.loggerDict.items())
        if name.startswith(SDK_LOGGER_PREFIXES) and isinstance(item, logging.Logger)
    ]


class LogRedaction:
    """One owner's :class:`SecretFilter` on the SDK's loggers, attached and removed as a unit.

    Args:
        *secrets: The owner's secrets (API secret, user token); ``None`` and empty ones are
            ignored. JWTs are masked whatever their origin.

    """

    def __init__(self, *secrets: str | None) -> None:
        self.filter = SecretFilter()
        for secret in secrets:
            if secret:
                self.filter.add_secret(secret)
        self._loggers: list[logging.Logger] = []

    @property
    def attached(self) -> bool:
        """Whether the filter is on at least one logger."""
        return bool(self._loggers)

    def attach(self) -> None:
        """Put the filter on every SDK logger that exists now and does not have it yet.

        Called again, it covers the loggers created since; each logger gets it once.
        """
        for log in sdk_loggers():
            if self.filter not in log.filters:
                log.addFilter(self.filter)
                self._loggers.append(log)

    def detach(self) -> None:
        """Remove the filter from every logger :meth:`attach` put it on (idempotent)."""
        loggers, self._loggers = self._loggers, []
        for log in loggers:
            log.removeFilter(self.filter)
