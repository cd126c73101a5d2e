"""Validation of the values users pass at the public boundary.

Every check raises :class:`~pipecat_getstream.errors.GetstreamConfigError` (a
``ValueError``) with a message that names the argument but never echoes a secret.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import jwt

from pipecat_getstream.errors import GetstreamConfigError

# GetStream ids: letters, digits and "@_-" (user ids) or "_-" (call ids/types); we accept the
# union GetStream documents for each and cap lengths the way the service does.
_USER_ID = re.compile(r"^[A-Za-z0-9@_\-]{1,255}$")
_CALL_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_CALL_TYPE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")

DEFAULT_BASE_URL = "https://video.stream-io-api.com"


def require_text(name: str, value: object) -> str:
    """Return ``value`` if it is a non-empty string, else raise.

    Args:
        name: The argument's name, used in the error message.
        value: The value to check.

    Returns:
        The value, unchanged.

    Raises:
        GetstreamConfigError: If the value is not a non-empty, non-blank string.

    """
    if not isinstance(value, str) or not value.strip():
        raise GetstreamConfigError(f"{name} must be a non-empty string")
    return value


def _check_pattern(name: str, value: object, pattern: re.Pattern[str], rule: str) -> str:
    text = require_text(name, value)
    if not pattern.match(text):
        raise GetstreamConfigError(f"{name}={text[:80]!r} is invalid: {rule}")
    return text


def check_user_id(value: object, name: str = "user_id") -> str:
    """Validate a GetStream user id (1-255 chars of letters, digits, ``@``, ``_``, ``-``).

    Args:
        value: The id to check.
        name: The argument's name for the error message.

    Returns:
        The id, unchanged.

    """
    return _check_pattern(name, value, _USER_ID, "use 1-255 letters, digits, '@', '_' or '-'")


def check_call_id(value: object, name: str = "call_id") -> str:
    """Validate a GetStream call id (1-64 chars of letters, digits, ``_``, ``-``).

    Args:
        value: The id to check.
        name: The argument's name for the error message.

    Returns:
        The id, unchanged.

    """
    return _check_pattern(name, value, _CALL_ID, "use 1-64 letters, digits, '_' or '-'")


def check_call_type(value: object, name: str = "call_type") -> str:
    """Validate a GetStream call type name (1-64 chars of letters, digits, ``_``, ``-``).

    Args:
        value: The call type to check.
        name: The argument's name for the error message.

    Returns:
        The call type, unchanged.

    """
    return _check_pattern(name, value, _CALL_TYPE, "use 1-64 letters, digits, '_' or '-'")


def check_base_url(value: str | None) -> str:
    """Validate an API base URL and return it without a trailing slash.

    Args:
        value: ``None`` for GetStream's cloud, or an ``http(s)://host[:port]`` URL.

    Returns:
        The normalised base URL.

    Raises:
        GetstreamConfigError: If the value is not an http(s) URL with a host.

    """
    if value is None:
        return DEFAULT_BASE_URL
    if not isinstance(value, str):
        raise GetstreamConfigError("base_url must be a string such as 'https://host[:port]'")
    parsed = urlparse(value.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise GetstreamConfigError(
            f"base_url={value[:120]!r} is not an http(s) URL such as 'https://host[:port]'"
        )
    try:
        parsed.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise GetstreamConfigError(f"base_url={value[:120]!r} has an invalid port") from exc
    return value.strip().rstrip("/")


def check_credentials(api_key: object, api_secret: object, token: object) -> None:
    """Check that an api key and exactly one of ``api_secret``/``token`` are given.

    Args:
        api_key: The GetStream API key.
        api_secret: The API secret, or ``None`` when a token is used.
        token: A pre-minted user JWT, or ``None`` when the secret is used.

    Raises:
        GetstreamConfigError: On a missing key, both or neither of secret and token, or an
            empty value. The message never contains the secret or token.

    """
    require_text("api_key", api_key)
    has_secret = api_secret is not None and api_secret != ""
    has_token = token is not None and token != ""
    if has_secret and has_token:
        raise GetstreamConfigError("pass exactly one of api_secret or token, not both")
    if not has_secret and not has_token:
        raise GetstreamConfigError("pass exactly one of api_secret or token (neither was given)")
    if has_secret and (not isinstance(api_secret, str) or not api_secret.strip()):
        raise GetstreamConfigError("api_secret must be a non-empty string")
    if has_token and (not isinstance(token, str) or token.count(".") != 2):
        raise GetstreamConfigError("token must be a JWT string (header.payload.signature)")


def check_positive(name: str, value: object, *, allow_none: bool = False) -> None:
    """Raise unless ``value`` is a positive number (or ``None`` when allowed).

    Args:
        name: The parameter name for the error message.
        value: The value to check.
        allow_none: Whether ``None`` is acceptable.

    """
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise GetstreamConfigError(f"{name} must be a positive number, got {value!r}")


def check_token_user(token: str, user_id: str) -> None:
    """Check that a pre-minted token is a JWT for ``user_id`` (its signature is not checked).

    Raises:
        GetstreamConfigError: If the token is not a JWT or names another user.

    """
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise GetstreamConfigError("token is not a valid JWT") from exc
    claimed = claims.get("user_id")
    if claimed is not None and claimed != user_id:
        raise GetstreamConfigError(
            f"token was minted for user_id={claimed!r}, but the transport joins as {user_id!r}"
        )
