"""The SDK's REST client, shared by both stacks (its REST layer is the same in 3.x-7.x)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlparse

from getstream import AsyncStream
from loguru import logger

from pipecat_getstream.errors import GetstreamConfigError, describe_error


def make_stream_client(
    api_key: str, api_secret: str | None, token: str | None, base_url: str
) -> AsyncStream:
    """Create the SDK's REST client, always with an explicit base URL.

    An explicit ``base_url`` matters: the SDK falls back to the ``STREAM_BASE_URL``
    environment variable when it is ``None``, and in this project's example that variable
    names the browser join page, not the API.

    Args:
        api_key: GetStream API key.
        api_secret: API secret (server-side mode), or ``None`` with a token.
        token: Pre-minted user JWT, or ``None`` with the secret.
        base_url: API base URL.

    Returns:
        The SDK's ``AsyncStream`` client.

    Raises:
        GetstreamConfigError: For a token-only client on an SDK older than 3.5.

    """
    if api_secret:
        return AsyncStream(api_key=api_key, api_secret=api_secret, base_url=base_url)
    from pipecat_getstream.stacks import supports_token_auth

    if not supports_token_auth():
        raise GetstreamConfigError(
            "token-only authentication needs getstream>=3.5.0; pass api_secret instead"
        )
    kwargs: dict[str, Any] = {"token": token}
    return AsyncStream(api_key=api_key, base_url=base_url, **kwargs)


def make_full_stream_client(
    api_key: str, api_secret: str | None, token: str | None, base_url: str
) -> AsyncStream:
    """:func:`make_stream_client` with its video client made too (run it on a thread).

    The client and its video client load a TLS context each (~50 ms apiece, also for an
    ``http://`` base URL): call this through ``asyncio.to_thread``, not on the event loop.
    """
    stream = make_stream_client(api_key, api_secret, token, base_url)
    _ = stream.video
    return stream


def coordinator_ws_uri(base_url: str) -> str:
    """The coordinator WebSocket URL that belongs to an API base URL."""
    parsed = urlparse(base_url)
    scheme = "wss" if parsed.scheme == "https" else "ws"
    return f"{scheme}://{parsed.netloc}/api/v2/connect"


async def ensure_user_and_call(
    stream: AsyncStream, call_type: str, call_id: str, user_id: str, user_name: str | None
) -> None:
    """Server-side mode: make sure the bot user and the call exist before joining.

    As GetStream's own integrations do: upserts the bot user with its display name
    (``user_name``, else its id) and gets or creates the call with the bot as
    ``created_by_id``. The stacks start it as the join starts and do not wait for it: it
    runs alongside the coordinator socket's connect, so the join takes no longer (the join
    creates the call too, with the bot as creator, whichever comes first). Never raises: a
    failure is logged and the call goes on.

    Args:
        stream: The SDK's REST client (made with the secret).
        call_type: Call type.
        call_id: Call id.
        user_id: The bot's user id.
        user_name: The bot's display name, or ``None``.

    """
    from getstream.models import CallRequest, UserRequest

    call = stream.video.call(call_type, call_id)
    try:  # independent requests: one round trip for both
        await asyncio.gather(
            stream.upsert_users(UserRequest(id=user_id, name=user_name or user_id)),
            call.get_or_create(data=CallRequest(created_by_id=user_id)),
        )
    except Exception as exc:
        logger.warning(
            f"could not upsert user {user_id} or get-or-create call {call_type}:{call_id} "
            f"before joining: {describe_error(exc)}"
        )
