"""GetStream webhooks: signature check, retry de-duplication, and which events start a bot.

GetStream signs each webhook with the app's API secret: ``X-Signature`` is the hex
HMAC-SHA256 of the raw (uncompressed) body, as the GetStream SDK's
``verify_webhook_signature`` checks it. A gzip-compressed body is decompressed first.
Retries of one delivery carry the same ``X-Webhook-Id`` (and a growing
``X-Webhook-Attempt``); without that header a body's digest identifies the delivery.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pipecat_getstream.runner.config import RunnerConfig


class WebhookRejected(Exception):
    """A webhook that is not GetStream's or does not parse.

    Attributes:
        status: The HTTP status to answer (401: signature, 400: body).

    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def verify_signature(body: bytes, signature: str | None, secret: str) -> bool:
    """Whether ``signature`` is the hex HMAC-SHA256 of ``body`` keyed by ``secret``."""
    if not signature:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.strip().lower(), expected)


def decode(body: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """Check a webhook's signature and parse its event.

    Raises:
        WebhookRejected: 401 on a missing or wrong signature, 400 on a body that is not a
            JSON object with a ``type``.

    """
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as exc:
            raise WebhookRejected(400, "the body is not valid gzip") from exc
    if not verify_signature(body, signature, secret):
        raise WebhookRejected(401, "missing or invalid X-Signature")
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRejected(400, "the body is not JSON") from exc
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise WebhookRejected(400, "the body is not an event (a JSON object with a type)")
    return event


class DeliveryLog:
    """Remembers recent webhook deliveries to drop retries of one already handled.

    Args:
        size: Deliveries remembered (the oldest are forgotten first).

    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._seen: OrderedDict[str, None] = OrderedDict()

    @staticmethod
    def key(webhook_id: str | None, body: bytes) -> str:
        """The delivery's identity: its ``X-Webhook-Id``, else the body's digest."""
        return webhook_id or "sha256:" + hashlib.sha256(body).hexdigest()

    def first_time(self, key: str) -> bool:
        """Record ``key``; ``False`` if it was already there (a retry)."""
        if key in self._seen:
            return False
        self._seen[key] = None
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True

    def forget(self, key: str) -> None:
        """Forget ``key``, so that a retry of a refused delivery is handled."""
        self._seen.pop(key, None)


@dataclass(frozen=True)
class StartRequest:
    """A bot a webhook asks for: the call, and the body the bot gets."""

    call_type: str
    call_id: str
    body: dict[str, Any]


def start_request(event: dict[str, Any], config: RunnerConfig) -> StartRequest | None:
    """The bot an event asks for under ``config``'s webhook settings, if any.

    ``call.session_started`` and others: any configured type. ``call.ring``: only when
    the bot's user is among the call's members. ``custom``: only when ``custom.type`` is
    ``config.custom_event_type``, and never one the bot's own user sent. The bot's
    body is the event's ``custom`` data (for a custom event) plus ``event``.
    """
    event_type = event["type"]
    if event_type not in config.webhook_events:
        return None
    cid = event.get("call_cid")
    call = event.get("call") if isinstance(event.get("call"), dict) else {}
    if not isinstance(cid, str) or ":" not in cid:
        cid = (call or {}).get("cid")
    if not isinstance(cid, str) or ":" not in cid:
        return None
    call_type, call_id = cid.split(":", 1)
    if config.webhook_call_types and call_type not in config.webhook_call_types:
        return None
    body: dict[str, Any] = {}
    if event_type == "call.ring":
        members = event.get("members") or []
        ids = {m.get("user_id") for m in members if isinstance(m, dict)}
        if config.bot_user_id not in ids:
            return None
    elif event_type == "custom":
        custom = event.get("custom") if isinstance(event.get("custom"), dict) else None
        if not custom or custom.get("type") != config.custom_event_type:
            return None
        user = event.get("user") if isinstance(event.get("user"), dict) else {}
        if (user or {}).get("id") == config.bot_user_id:
            return None
        body.update({k: v for k, v in custom.items() if k != "type"})
    body["event"] = event
    return StartRequest(call_type, call_id, body)
