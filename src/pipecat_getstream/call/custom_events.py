"""Custom events: validation of outgoing payloads and parsing of incoming ones."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from loguru import logger

#: GetStream's limit on a custom event payload, serialised as JSON.
MAX_CUSTOM_EVENT_BYTES = 5 * 1024


def _reject_non_finite(value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("custom event payloads cannot contain NaN or infinite numbers")
    if isinstance(value, dict):
        for item in value.values():
            _reject_non_finite(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _reject_non_finite(item)


def encode_custom_event(payload: object) -> dict[str, Any]:
    """Validate a custom event payload before anything touches the network.

    Args:
        payload: The event; must be a ``dict`` with string keys whose JSON serialisation
            (UTF-8) is at most 5 KB.

    Returns:
        A JSON round-tripped copy of the payload (what GetStream will deliver).

    Raises:
        ValueError: If the payload is not a dict, is not JSON-serialisable (bytes, sets,
            NaN, ...), or serialises to more than 5 KB.

    """
    if not isinstance(payload, Mapping):
        raise ValueError(f"a custom event must be a dict, got {type(payload).__name__}")
    _reject_non_finite(dict(payload))
    try:
        text = json.dumps(dict(payload), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"custom event is not JSON-serialisable: {exc}") from exc
    size = len(text.encode("utf-8"))
    if size > MAX_CUSTOM_EVENT_BYTES:
        raise ValueError(
            f"custom event is {size} bytes serialised; GetStream allows at most "
            f"{MAX_CUSTOM_EVENT_BYTES} bytes"
        )
    decoded: dict[str, Any] = json.loads(text)
    return decoded


def parse_incoming_event(event: object, max_bytes: int = 64 * 1024) -> dict[str, Any] | None:
    """Check a custom event received from the coordinator.

    Malformed events (not a dict, no ``custom`` dict, absurdly large) are logged and skipped.

    Args:
        event: The raw event as the SDK delivers it.
        max_bytes: Largest serialised event accepted.

    Returns:
        The event dict, or ``None`` when it must be skipped.

    """
    if not isinstance(event, dict):
        logger.warning(f"skipping a custom event that is not a dict ({type(event).__name__})")
        return None
    if not isinstance(event.get("custom"), dict):
        logger.warning("skipping a custom event without a 'custom' object")
        return None
    try:
        size = len(json.dumps(event, default=str).encode("utf-8"))
    except (TypeError, ValueError):
        logger.warning("skipping a custom event that cannot be serialised")
        return None
    if size > max_bytes:
        logger.warning(f"skipping a custom event of {size} bytes (limit {max_bytes})")
        return None
    return event


def sender_id(event: Mapping[str, Any]) -> str | None:
    """Return the user id of a custom event's sender, if GetStream included it."""
    user = event.get("user")
    if isinstance(user, Mapping) and isinstance(user.get("id"), str):
        return str(user["id"])
    return None
