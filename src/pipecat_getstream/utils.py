"""``GetstreamRESTHelper``: users, calls and tokens through GetStream's REST API."""

from __future__ import annotations

from typing import Any

from getstream import AsyncStream
from getstream.models import CallRequest, UserRequest

from pipecat_getstream.call.validation import (
    check_base_url,
    check_call_id,
    check_call_type,
    check_user_id,
    require_text,
)
from pipecat_getstream.errors import GetstreamConfigError, GetstreamConnectionError

__all__ = ["GetstreamRESTHelper"]


class GetstreamRESTHelper:
    """Convenience calls for setting up a GetStream call for a bot.

    Args:
        api_key: GetStream API key.
        api_secret: GetStream API secret (needed to mint tokens and act as the server).
        base_url: API base URL; GetStream's cloud when ``None``.

    Raises:
        GetstreamConfigError: On a missing key or secret or an invalid URL.

    """

    def __init__(self, api_key: str, api_secret: str, *, base_url: str | None = None):
        require_text("api_key", api_key)
        require_text("api_secret", api_secret)
        self.base_url = check_base_url(base_url)
        self._client = AsyncStream(api_key=api_key, api_secret=api_secret, base_url=self.base_url)

    def __repr__(self) -> str:
        return f"GetstreamRESTHelper(base_url={self.base_url!r})"

    async def create_user(self, user_id: str, name: str | None = None) -> dict[str, Any]:
        """Create the user, or update it if it exists.

        Args:
            user_id: The user's id.
            name: Display name (optional).

        Returns:
            The user as GetStream stored it: a dict with at least ``"id"`` (and ``"name"``,
            ``"role"``, ``"created_at"``... as the service returns them).

        Raises:
            GetstreamConfigError: On an invalid user id.
            GetstreamConnectionError: If GetStream refuses the request or cannot be reached.

        """
        check_user_id(user_id)
        try:
            response = await self._client.upsert_users(UserRequest(id=user_id, name=name))
        except Exception as exc:
            raise _rest_error("create_user", exc) from exc
        users = response.data.users or {}
        user = users.get(user_id)
        return user.to_dict() if user is not None else {"id": user_id, "name": name}

    async def create_call(self, call_type: str, call_id: str, created_by_id: str) -> dict[str, Any]:
        """Get the call, creating it if it does not exist.

        Args:
            call_type: Call type, e.g. ``"default"``.
            call_id: Call id.
            created_by_id: The user recorded as the call's creator.

        Returns:
            The call as GetStream returns it (a dict with ``"cid"``, ``"type"``, ``"id"``,
            ``"created_by"``, ...).

        Raises:
            GetstreamConfigError: On an invalid id.
            GetstreamConnectionError: If GetStream refuses the request or cannot be reached.

        """
        check_call_type(call_type)
        check_call_id(call_id)
        check_user_id(created_by_id, "created_by_id")
        call = self._client.video.call(call_type, call_id)
        try:
            response = await call.get_or_create(data=CallRequest(created_by_id=created_by_id))
        except Exception as exc:
            raise _rest_error("create_call", exc) from exc
        result: dict[str, Any] = response.data.call.to_dict()
        return result

    def create_token(self, user_id: str, expiration: int | None = None) -> str:
        """Mint a user token (HS256 JWT with ``user_id``, and ``exp`` when asked).

        Args:
            user_id: The user the token is for.
            expiration: Lifetime in seconds; no expiry when ``None``.

        Returns:
            The JWT as a string.

        Raises:
            GetstreamConfigError: On an invalid user id or a non-positive expiration.

        """
        check_user_id(user_id)
        if expiration is not None and (
            isinstance(expiration, bool) or not isinstance(expiration, int) or expiration <= 0
        ):
            raise GetstreamConfigError("expiration must be a positive number of seconds")
        token: str = self._client.create_token(user_id=user_id, expiration=expiration)
        return token

    async def delete_call(self, call_type: str, call_id: str) -> None:
        """Delete the call.

        Args:
            call_type: Call type.
            call_id: Call id.

        Raises:
            GetstreamConfigError: On an invalid id.
            GetstreamConnectionError: If GetStream refuses the request or cannot be reached.

        """
        check_call_type(call_type)
        check_call_id(call_id)
        try:
            await self._client.video.call(call_type, call_id).delete()
        except Exception as exc:
            raise _rest_error("delete_call", exc) from exc


def _rest_error(action: str, exc: BaseException) -> GetstreamConnectionError:
    status = getattr(exc, "status_code", None)
    api_error = getattr(exc, "api_error", None)
    detail = getattr(api_error, "message", None) or str(exc) or type(exc).__name__
    where = f"HTTP {status}" if isinstance(status, int) else type(exc).__name__
    return GetstreamConnectionError(f"{action} failed ({where}): {detail[:300]}")
