"""The SDK's REST client: one per transport, shared by its stack, captions and custom events.

The SDK's REST layer is the same in 3.x-7.x. Building a client costs ~50 ms of TLS set-up
each for it and its video client, so :class:`RestClient` builds it on a worker thread,
once, when first needed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from loguru import logger

from pipecat_getstream.errors import GetstreamConfigError, describe_error, http_status

if TYPE_CHECKING:
    from getstream import AsyncStream


def make_stream_client(
    api_key: str, api_secret: str | None, token: str | None, base_url: str
) -> AsyncStream:
    """Create the SDK's REST client and its video client (run it on a worker thread).

    The two load a TLS context each (~50 ms apiece, also for an ``http://`` base URL), so
    this is not for the event loop. The base URL is always explicit: the SDK falls back to
    the ``STREAM_BASE_URL`` environment variable when it is ``None``, and in this project's
    example that variable names the browser join page, not the API.

    Args:
        api_key: GetStream API key.
        api_secret: API secret (server-side mode), or ``None`` with a token.
        token: Pre-minted user JWT, or ``None`` with the secret.
        base_url: API base URL.

    Returns:
        The SDK's ``AsyncStream`` client, its ``video`` client made.

    Raises:
        GetstreamConfigError: For a token-only client on an SDK older than 3.5.

    """
    from getstream import AsyncStream

    if api_secret:
        stream = AsyncStream(api_key=api_key, api_secret=api_secret, base_url=base_url)
    else:
        from pipecat_getstream.stacks import supports_token_auth

        if not supports_token_auth():
            raise GetstreamConfigError(
                "token-only authentication needs getstream>=3.5.0; pass api_secret instead"
            )
        kwargs: dict[str, Any] = {"token": token}
        stream = AsyncStream(api_key=api_key, base_url=base_url, **kwargs)
    _ = stream.video
    return stream


class RestClient:
    """The one SDK REST client of a transport, built off the event loop at first use.

    :meth:`get` builds it on a worker thread the first time (concurrent callers wait for
    the same build) and returns the same client until :meth:`close`; a later :meth:`get`
    builds a new one (a transport that joins again).

    Args:
        api_key: GetStream API key.
        api_secret: API secret, or ``None`` with ``token``.
        token: The bot's user token, or ``None`` with ``api_secret``.
        base_url: API base URL.

    """

    def __init__(
        self, api_key: str, api_secret: str | None, token: str | None, base_url: str
    ) -> None:
        self._credentials = (api_key, api_secret, token, base_url)
        self._stream: AsyncStream | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"RestClient({self._credentials[3]})"

    async def get(self) -> AsyncStream:
        """The client (built on a worker thread the first time).

        Raises:
            GetstreamConfigError: For a token-only client on an SDK older than 3.5.

        """
        async with self._lock:
            if self._stream is None:
                self._stream = await asyncio.to_thread(make_stream_client, *self._credentials)
            return self._stream

    async def close(self) -> None:
        """Close the client's connections (never raises)."""
        async with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            try:
                await stream.aclose()
            except Exception as exc:  # closing: log, never raise from teardown
                logger.debug(f"{self} error while closing: {exc!r}")


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
    failure is logged (refused credentials only at debug level: the join reports them) and
    the call goes on.

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
        # Refused credentials fail the join too, which reports them: one line, not two.
        log = logger.debug if http_status(exc) in (401, 403) else logger.warning
        log(
            f"could not upsert user {user_id} or get-or-create call {call_type}:{call_id} "
            f"before joining: {describe_error(exc)}"
        )
