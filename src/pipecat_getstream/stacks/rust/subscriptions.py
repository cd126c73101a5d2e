"""The bot's subscription rule on SDK 7.x, with screen shares added after the cameras.

Under the cloud's stream names SDK 7.x types a screen share as ``VIDEO`` (see
:mod:`pipecat_getstream.stacks.rust.kinds`). A participant's two video tracks are then told
apart by the order they arrive in, and for participants already in the call when the bot
subscribes there is no order to go by: the SFU forwards both at once. So when the bot wants
screen shares and someone already publishes a camera and a screen share, the rule first
subscribes without screen shares; once those cameras have arrived (or after
:data:`CAMERAS_FIRST_SECS`), screen shares are added, and the only new video track of such a
participant is their screen share.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

import getstream_rtc as rtc
from loguru import logger

from pipecat_getstream.stacks.base import StackConfig

#: How long screen shares wait for the cameras of those publishing both (a camera arrives
#: within a few hundred milliseconds; a camera that never does must not hold screen shares
#: back for ever).
CAMERAS_FIRST_SECS = 3.0

_POLL_SECS = 0.05


def cameras_pending(
    participants: Iterable[rtc.RemoteParticipant], own_session: str | None, held: set[str]
) -> set[str]:
    """The sessions that publish a camera and a screen share and whose camera is not held.

    Args:
        participants: The call's participants, as the SDK knows them.
        own_session: The bot's own session (never waited for).
        held: The sessions whose camera the bot receives.

    """
    return {
        p.session_id
        for p in participants
        if p.session_id != own_session
        and p.session_id not in held
        and rtc.TrackType.VIDEO in p.published_tracks
        and rtc.TrackType.SCREEN_SHARE in p.published_tracks
    }


class Subscriptions:
    """Which track types the bot subscribes to, and when screen shares join them.

    Args:
        config: The bot's subscription settings (``subscribe_audio``, ``subscribe_video``,
            ``subscribe_screen_share``).
        cameras_held: Returns the sessions whose camera the bot receives now.
        spawn: Runs a coroutine in the background (the stack's own task set).

    """

    def __init__(
        self,
        config: StackConfig,
        cameras_held: Callable[[], set[str]],
        spawn: Callable[[Awaitable[None]], None],
    ) -> None:
        self._config = config
        self._cameras_held = cameras_held
        self._spawn = spawn
        self._screen_share_wanted = config.subscribe_screen_share
        #: Whether the rule the SFU has includes screen shares.
        self.screen_share_on = False
        self._lock = asyncio.Lock()

    async def apply(self, call: rtc.Call, own_session: str | None) -> None:
        """Send the rule.

        With screen shares wanted and cameras pending, the rule sent now has no screen
        shares, and a background task adds them once the cameras are in.
        """
        async with self._lock:
            if self._screen_share_wanted and self._config.subscribe_video:
                pending = cameras_pending(call.participants(), own_session, self._cameras_held())
                if pending:
                    await self._send(call, screen_share=False)
                    self._spawn(self._screen_shares_after(call, pending))
                    return
            await self._send(call, screen_share=self._screen_share_wanted)

    async def _screen_shares_after(self, call: rtc.Call, pending: set[str]) -> None:
        await self._wait_for_cameras(pending)
        async with self._lock:
            if not self.screen_share_on:
                await self._send(call, screen_share=True)

    async def add_screen_share(self, call: rtc.Call | None, own_session: str | None) -> None:
        """Want screen shares from now on (idempotent)."""
        if self._screen_share_wanted:
            return
        self._screen_share_wanted = True
        if call is not None:
            await self.apply(call, own_session)

    async def _wait_for_cameras(self, pending: set[str]) -> None:
        deadline = asyncio.get_running_loop().time() + CAMERAS_FIRST_SECS
        while pending - self._cameras_held():
            if asyncio.get_running_loop().time() >= deadline:
                logger.debug(
                    f"no camera from {sorted(pending - self._cameras_held())} within "
                    f"{CAMERAS_FIRST_SECS} s; subscribing to screen shares anyway"
                )
                return
            await asyncio.sleep(_POLL_SECS)

    async def _send(self, call: rtc.Call, screen_share: bool) -> None:
        cfg = self._config
        types = [
            t
            for t, on in (
                (rtc.TrackType.AUDIO, cfg.subscribe_audio),
                (rtc.TrackType.VIDEO, cfg.subscribe_video),
                (rtc.TrackType.SCREEN_SHARE, screen_share),
            )
            if on
        ]
        self.screen_share_on = screen_share
        if types:
            rule = rtc.TrackSubscriptionConfig(track_types=types)
            await call.update_subscriptions(rtc.SubscriptionConfig(default=rule))
