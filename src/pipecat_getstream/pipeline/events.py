"""Every event the transport fires, with its arguments: the one list the rest derives from.

:data:`TransportEvent` names the events (a ``Literal``, so a misspelt name is a type
error); :class:`GetstreamCallbacks` gives each one its handler's signature, as Pipecat's
own transports describe theirs (``DailyCallbacks``, ``LiveKitCallbacks``). The transport
registers exactly :data:`EVENTS` with Pipecat, :data:`SYNC_EVENTS` as awaited inline, and
the README's events table lists the same names (a unit test checks all three agree).

Handlers are called ``handler(transport, *arguments)``; the signatures below leave out the
transport.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, get_args

from pydantic import BaseModel

TransportEvent = Literal[
    "on_connected",
    "on_disconnected",
    "on_before_disconnect",
    "on_participant_connected",
    "on_participant_disconnected",
    "on_participant_left",
    "on_participant_updated",
    "on_active_speaker_changed",
    "on_first_participant_joined",
    "on_audio_track_subscribed",
    "on_audio_track_unsubscribed",
    "on_video_track_subscribed",
    "on_video_track_unsubscribed",
    "on_screen_share_track_subscribed",
    "on_screen_share_track_unsubscribed",
    "on_stream_custom_event",
    "on_client_connected",
    "on_client_disconnected",
    "on_call_ended",
    "on_reconnecting",
    "on_reconnected",
    "on_reconnect_failed",
]

#: Every event, in the order of :data:`TransportEvent`.
EVENTS: tuple[TransportEvent, ...] = get_args(TransportEvent)

#: Events whose handlers are awaited before the transport goes on (Pipecat's ``sync=True``).
SYNC_EVENTS: frozenset[TransportEvent] = frozenset({"on_before_disconnect"})

#: Events that gained arguments: their handlers may take fewer than the event passes
#: (``on_participant_left(transport, participant_id)`` predates ``reason``).
GROWN_EVENTS: frozenset[TransportEvent] = frozenset({"on_participant_left"})


class GetstreamCallbacks(BaseModel):
    """The handler signature of every transport event (the transport argument left out).

    Attributes:
        on_connected: The bot joined the call.
        on_disconnected: The bot left the call.
        on_before_disconnect: Awaited before the bot leaves, so it can still send events.
        on_participant_connected: A participant (user id) joined the call.
        on_participant_disconnected: A participant left the call.
        on_participant_left: A participant left, and why: ``"left"``, ``"timeout"``
            (connection lost and not restored), ``"removed"`` (kicked or blocked) or
            ``"call_ended"``. Handlers without ``reason`` work too.
        on_participant_updated: A participant's profile or published tracks changed.
        on_active_speaker_changed: The SFU's dominant speaker changed (may be the bot).
        on_first_participant_joined: The call went from no participants to one.
        on_audio_track_subscribed: A participant's audio is received.
        on_audio_track_unsubscribed: A participant's audio is no longer received.
        on_video_track_subscribed: A participant's camera is received.
        on_video_track_unsubscribed: A participant's camera is no longer received.
        on_screen_share_track_subscribed: A participant's screen share is received.
        on_screen_share_track_unsubscribed: A participant's screen share is no longer
            received.
        on_stream_custom_event: A custom event from a client watching the call, as
            GetStream delivers it (payload under ``"custom"``, sender under ``"user"``).
        on_client_connected: Pipecat's convention: a participant joined.
        on_client_disconnected: Pipecat's convention: a participant left.
        on_call_ended: The server ended the call; the transport ends the pipeline.
        on_reconnecting: The SDK lost its connection and is reconnecting.
        on_reconnected: The SDK is connected again.
        on_reconnect_failed: The SDK gave up reconnecting, and why.

    """

    on_connected: Callable[[], Awaitable[None]]
    on_disconnected: Callable[[], Awaitable[None]]
    on_before_disconnect: Callable[[], Awaitable[None]]
    on_participant_connected: Callable[[str], Awaitable[None]]
    on_participant_disconnected: Callable[[str], Awaitable[None]]
    on_participant_left: Callable[[str, str], Awaitable[None]]
    on_participant_updated: Callable[[str], Awaitable[None]]
    on_active_speaker_changed: Callable[[str], Awaitable[None]]
    on_first_participant_joined: Callable[[str], Awaitable[None]]
    on_audio_track_subscribed: Callable[[str], Awaitable[None]]
    on_audio_track_unsubscribed: Callable[[str], Awaitable[None]]
    on_video_track_subscribed: Callable[[str], Awaitable[None]]
    on_video_track_unsubscribed: Callable[[str], Awaitable[None]]
    on_screen_share_track_subscribed: Callable[[str], Awaitable[None]]
    on_screen_share_track_unsubscribed: Callable[[str], Awaitable[None]]
    on_stream_custom_event: Callable[[dict[str, Any]], Awaitable[None]]
    on_client_connected: Callable[[str], Awaitable[None]]
    on_client_disconnected: Callable[[str], Awaitable[None]]
    on_call_ended: Callable[[], Awaitable[None]]
    on_reconnecting: Callable[[], Awaitable[None]]
    on_reconnected: Callable[[], Awaitable[None]]
    on_reconnect_failed: Callable[[str], Awaitable[None]]


def event_arguments(name: TransportEvent) -> tuple[Any, ...]:
    """The argument types ``name``'s handlers receive after the transport.

    Args:
        name: An event of :data:`EVENTS`.

    Returns:
        The types, read from :class:`GetstreamCallbacks` (``()`` for an event without
        arguments).

    """
    annotation = GetstreamCallbacks.model_fields[name].annotation
    parameters, _returns = get_args(annotation)
    return tuple(parameters)
