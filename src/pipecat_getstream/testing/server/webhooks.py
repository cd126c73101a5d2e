"""Signed webhooks to the app's webhook URL, as GetStream's cloud sends them.

Each event a call's watchers receive (``call.ended``, ``custom``,
``call.session_participant_left`` ...) is also POSTed to the configured URL, plus the
session events the cloud sends only to webhooks: ``call.session_started`` when a call's
first participant joins the SFU, ``call.session_participant_joined`` for each join and
``call.session_ended`` when the last one leaves or the call ends.

Each request carries the event JSON as its body and the headers the cloud sends:
``X-Signature`` (hex HMAC-SHA256 of the body with the API secret: what the SDK's
``verify_webhook_signature`` checks), ``X-Api-Key``, ``X-Webhook-Id`` (the same on every
attempt of one event) and ``X-Webhook-Attempt`` (1, 2, ...). A delivery that fails
(connection error or a non-2xx status) is retried after a delay, up to ``max_attempts``.
Events wait in a bounded queue; when it is full, new events are dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from loguru import logger

from pipecat_getstream.testing.server.coordinator import payloads
from pipecat_getstream.testing.server.state import CallRecord, ServerState, SfuSession, now_ns

#: Events a webhook carries that end a call's session once nobody is left in it.
_SESSION_ENDING = ("call.session_participant_left", "call.ended", "call.kicked_user")


def sign(body: bytes, secret: str) -> str:
    """Return the ``X-Signature`` of a webhook body: hex HMAC-SHA256 keyed by the secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class WebhookStats:
    """Counts of what the sender did (introspection for tests and benchmarks).

    Attributes:
        delivered: Events accepted by the receiver (a 2xx answer).
        failed: Events given up on after the last attempt.
        dropped: Events not queued because the queue was full.
        attempts: Every POST made.
        statuses: The HTTP status of each attempt (0: no answer).

    """

    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    attempts: int = 0
    statuses: list[int] = field(default_factory=list)


@dataclass
class _Delivery:
    webhook_id: str
    body: bytes
    event_type: str


class WebhookSender:
    """Posts GetStream-shaped, signed events to a URL, with retries.

    Args:
        state: The server state (to tell whether a call still has participants).
        api_key: Sent as ``X-Api-Key``.
        api_secret: Signs each body.
        url: Where events go; ``None`` sends nothing (it can be set later).
        queue_size: Events waiting for delivery at most.
        max_attempts: Attempts per event.
        retry_delay_s: Delay before the second attempt; doubled before each later one.
        timeout_s: Seconds one attempt may take.
        workers: Deliveries in flight at once.

    """

    def __init__(
        self,
        state: ServerState,
        api_key: str,
        api_secret: str,
        url: str | None = None,
        *,
        queue_size: int = 512,
        max_attempts: int = 3,
        retry_delay_s: float = 0.5,
        timeout_s: float = 5.0,
        workers: int = 4,
    ) -> None:
        self.state = state
        self.api_key = api_key
        self._secret = api_secret
        self.url = url
        self.max_attempts = max_attempts
        self.retry_delay_s = retry_delay_s
        self.timeout_s = timeout_s
        self.stats = WebhookStats()
        self._queue: asyncio.Queue[_Delivery] = asyncio.Queue(maxsize=queue_size)
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []
        self._http: aiohttp.ClientSession | None = None
        #: Cids of calls with a session in progress (``call.session_started`` sent).
        self._live: set[str] = set()

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Start the delivery workers (on the server's loop)."""
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._workers)]

    async def close(self) -> None:
        """Stop delivering; events still queued are dropped."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._http is not None:
            await self._http.close()
            self._http = None

    # --------------------------------------------------------------- events
    def emit(self, event: dict[str, Any]) -> bool:
        """Queue one event for delivery; ``False`` when no URL is set or the queue is full."""
        if not self.url:
            return False
        body = json.dumps(event, separators=(",", ":")).encode()
        delivery = _Delivery(str(uuid.uuid4()), body, str(event.get("type", "")))
        try:
            self._queue.put_nowait(delivery)
        except asyncio.QueueFull:
            self.stats.dropped += 1
            logger.warning("webhooks: queue full, {} dropped", delivery.event_type)
            return False
        return True

    async def participant_joined(self, session: SfuSession) -> None:
        """A new SFU session: ``call.session_started`` (first one), then the join event."""
        call = session.call
        started = call.cid not in self._live
        self._live.add(call.cid)
        if not self.url:
            return
        if started:
            self.emit(self._session_event("call.session_started", call))
        user = self.state.ensure_user(session.user_id)
        self.emit(
            {
                "type": "call.session_participant_joined",
                "call_cid": call.cid,
                "session_id": call.session_id,
                "participant": {
                    "user": payloads.user_json(user, ws=True),
                    "user_session_id": session.session_id,
                    "role": user.role,
                    "joined_at": payloads.rfc3339(int(session.joined_at * 1e9)),
                },
                "created_at": payloads.rfc3339(now_ns()),
            }
        )

    def published(self, call: CallRecord, event: dict[str, Any]) -> None:
        """An event sent to the call's watchers: the webhook gets it too.

        When it leaves the call empty, ``call.session_ended`` goes first.
        """
        if event.get("type") in _SESSION_ENDING and call.cid in self._live:
            if not any(not s.gone for s in call.sessions.values()):
                self._live.discard(call.cid)
                if self.url:
                    self.emit(self._session_event("call.session_ended", call))
        self.emit(event)

    def _session_event(self, event_type: str, call: CallRecord) -> dict[str, Any]:
        event = payloads.call_event_json(event_type, self.state, call)
        event["session_id"] = call.session_id
        return event

    # ------------------------------------------------------------- delivery
    async def _work(self) -> None:
        while True:
            delivery = await self._queue.get()
            try:
                await self._deliver(delivery)
            except Exception as exc:  # a worker must survive any one delivery
                logger.warning("webhooks: {} not delivered: {!r}", delivery.event_type, exc)

    async def _deliver(self, delivery: _Delivery) -> None:
        delay = self.retry_delay_s
        for attempt in range(1, self.max_attempts + 1):
            url = self.url
            if not url or self._http is None:
                return
            headers = {
                "Content-Type": "application/json",
                "X-Signature": sign(delivery.body, self._secret),
                "X-Api-Key": self.api_key,
                "X-Webhook-Id": delivery.webhook_id,
                "X-Webhook-Attempt": str(attempt),
            }
            status = 0
            self.stats.attempts += 1
            try:
                async with self._http.post(url, data=delivery.body, headers=headers) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                logger.debug("webhooks: {} attempt {}: {!r}", delivery.event_type, attempt, exc)
            self.stats.statuses.append(status)
            if 200 <= status < 300:
                self.stats.delivered += 1
                return
            if attempt < self.max_attempts:
                await asyncio.sleep(delay)
                delay *= 2
        self.stats.failed += 1
        logger.info(
            "webhooks: {} given up after {} attempts", delivery.event_type, self.max_attempts
        )
