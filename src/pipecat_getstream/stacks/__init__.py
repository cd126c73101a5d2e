"""The SDK-facing layer: one sub-package per GetStream SDK generation, chosen at run time.

- :mod:`~pipecat_getstream.stacks.aiortc`: ``getstream[webrtc]`` 3.3.3-6.x (aiortc media).
- :mod:`~pipecat_getstream.stacks.rust`: 7.x (the Rust media core, ``getstream_rtc``).

Only the chosen sub-package is imported, so neither needs the other's SDK modules.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from typing import Literal

from pipecat_getstream.stacks.base import (
    AudioSink,
    AudioSpec,
    CallStack,
    StackConfig,
    StackListener,
    TrackKind,
    VideoSink,
    VideoSource,
    VideoSpec,
)
from pipecat_getstream.stacks.rest import RestClient

__all__ = [
    "AudioSink",
    "AudioSpec",
    "CallStack",
    "RestClient",
    "StackConfig",
    "StackListener",
    "TrackKind",
    "VideoSink",
    "VideoSource",
    "VideoSpec",
    "create_stack",
    "sdk_version",
    "stack_name",
    "supports_token_auth",
    "wait_for_closed_sockets",
]

StackName = Literal["aiortc", "rust"]


def sdk_version() -> tuple[int, ...]:
    """The installed GetStream SDK version as a tuple of ints, e.g. ``(6, 1, 1)``."""
    try:
        text = version("getstream")
    except PackageNotFoundError:  # pragma: no cover - the package depends on it
        return (0,)
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def stack_name() -> StackName:
    """Which stack the installed SDK needs: ``"rust"`` from 7.0, else ``"aiortc"``."""
    if sdk_version() >= (7,) and find_spec("getstream_rtc") is not None:
        return "rust"
    return "aiortc"


def supports_token_auth() -> bool:
    """Whether the SDK can act with a user token instead of the API secret (3.5.0+)."""
    return sdk_version() >= (3, 5, 0)


def create_stack(config: StackConfig, listener: StackListener, rest: RestClient) -> CallStack:
    """Create the stack for the installed SDK.

    Args:
        config: The call to join and the credentials.
        listener: Receives participants, tracks, media and call events.
        rest: The transport's REST client, which the stack uses and does not close.

    Returns:
        A stack that has not joined yet.

    """
    if stack_name() == "rust":
        from pipecat_getstream.stacks.rust import RustStack

        return RustStack(config, listener, rest)
    from pipecat_getstream.stacks.aiortc import AiortcStack

    return AiortcStack(config, listener, rest)


async def wait_for_closed_sockets(timeout: float = 5.0) -> None:
    """Wait until sockets the stack closes in the background are closed (tests, shutdown).

    Only the aiortc stack closes sockets on worker threads; on 7.x this returns at once.
    """
    if stack_name() == "aiortc":
        from pipecat_getstream.stacks.aiortc.sdk import wait_for_closed_sockets as wait

        await wait(timeout)
