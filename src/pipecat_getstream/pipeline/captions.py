"""Closed captions: the bot's spoken text and users' transcriptions, as call captions.

With ``GetstreamParams.closed_captions=True`` the output processor hands this module
every frame it releases downstream. Frames leave the output processor when they are
played (text frames wait for the audio queued before them, timed frames for their
presentation time), so a caption's times are the times the words were heard.

- The bot's ``TTSTextFrame`` pieces are joined into sentences; a sentence is posted when
  it ends (``.``, ``!``, ``?``, ...), when the bot stops speaking, or when it is
  interrupted (what was spoken so far). ``speaker_id`` is the bot's user id; the start
  time is when its first piece played, the end time when its last did.
- A ``TranscriptionFrame`` (a user's final transcription, when the pipeline lets it reach
  the output) is posted as is, with the user's id as ``speaker_id``.

Captions go out through the transport's REST client (the SDK's ``send_closed_caption``:
``POST /video/call/{type}/{id}/closed_captions``) from one background task fed by a
bounded queue; the pipeline never waits for it. When the queue is full the oldest caption is
dropped, with a warning. SDK versions without ``send_closed_caption`` log it once and
post nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timezone

from loguru import logger
from pipecat.frames.frames import (
    BotStoppedSpeakingFrame,
    Frame,
    TranscriptionFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)

from pipecat_getstream.errors import describe_error
from pipecat_getstream.pipeline.frames import InterruptionFrame
from pipecat_getstream.stacks.rest import RestClient

#: Captions waiting to be posted; beyond this the oldest are dropped.
CAPTION_QUEUE_SIZE = 32

_warned_unsupported = False  # the missing-SDK-support warning is logged once per process

_SENTENCE_ENDS = (".", "!", "?", "…", "。", "！", "？")
#: Pieces starting with these join the previous piece without a space.
_GLUED = ".,!?;:…)]}'\"。，！？"


@dataclass(frozen=True)
class CaptionTarget:
    """Where captions go.

    Attributes:
        call_type: Call type.
        call_id: Call id.
        user_id: The bot's user id (the speaker of its own captions).

    """

    call_type: str
    call_id: str
    user_id: str


@dataclass(frozen=True)
class Caption:
    """One caption to post."""

    speaker_id: str
    text: str
    start_time: datetime
    end_time: datetime


def _now() -> datetime:
    return datetime.now(timezone.utc)


def sdk_supports_captions() -> bool:
    """Whether the installed SDK can post closed captions."""
    from getstream.video.async_call import Call

    return hasattr(Call, "send_closed_caption")


class ClosedCaptions:
    """Turns played frames into captions and posts them without blocking the pipeline.

    Args:
        target: The call and the bot.
        rest: The transport's REST client (not closed here).
        maxsize: Queue bound.

    """

    def __init__(
        self, target: CaptionTarget, rest: RestClient, maxsize: int = CAPTION_QUEUE_SIZE
    ) -> None:
        self._target = target
        self._queue: asyncio.Queue[Caption] = asyncio.Queue(maxsize=maxsize)
        self._task: asyncio.Task[None] | None = None
        self._rest = rest
        self._pieces: list[str] = []
        self._started: datetime | None = None
        self._last: datetime | None = None
        self.enabled = sdk_supports_captions()
        global _warned_unsupported
        if not self.enabled and not _warned_unsupported:
            _warned_unsupported = True
            logger.warning(
                "closed_captions is on, but this GetStream SDK has no send_closed_caption: "
                "no captions will be posted"
            )
        self.dropped = 0
        self.posted = 0

    def __repr__(self) -> str:
        return f"ClosedCaptions({self._target.call_type}:{self._target.call_id})"

    # ------------------------------------------------------------- frames
    def observe(self, frame: Frame) -> None:
        """Look at one frame the output processor released (never blocks)."""
        if not self.enabled:
            return
        if isinstance(frame, TTSTextFrame):
            self._add_piece(frame)
        elif isinstance(frame, TranscriptionFrame):
            text = frame.text.strip()
            if text and frame.user_id:
                now = _now()
                self._post(Caption(frame.user_id, text, now, now))
        elif isinstance(frame, (TTSStoppedFrame, BotStoppedSpeakingFrame, InterruptionFrame)):
            self._finish_sentence()

    def _add_piece(self, frame: TTSTextFrame) -> None:
        text = frame.text
        if not text.strip():
            return
        now = _now()
        if self._started is None:
            self._started = now
        self._last = now
        spaced = getattr(frame, "includes_inter_frame_spaces", False)
        if self._pieces and not spaced and not text[:1].isspace() and text[:1] not in _GLUED:
            if not self._pieces[-1][-1:].isspace():
                self._pieces.append(" ")
        self._pieces.append(text)
        if text.rstrip().endswith(_SENTENCE_ENDS):
            self._finish_sentence()

    def _finish_sentence(self) -> None:
        text = "".join(self._pieces).strip()
        started, last = self._started, self._last
        self._pieces, self._started, self._last = [], None, None
        if text and started is not None and last is not None:
            self._post(Caption(self._target.user_id, text, started, last))

    # ------------------------------------------------------------- posting
    def _post(self, caption: Caption) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        while True:
            try:
                self._queue.put_nowait(caption)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self._queue.get_nowait()
                    self._queue.task_done()
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 100 == 0:
                    logger.warning(
                        f"{self} GetStream is slower than the captions: dropped "
                        f"{self.dropped} caption(s), oldest first"
                    )

    async def _run(self) -> None:
        while True:
            caption = await self._queue.get()
            try:
                await self._send(caption)
                self.posted += 1
            except Exception as exc:
                logger.warning(f"{self} could not post a caption: {describe_error(exc)}")
            finally:
                self._queue.task_done()

    async def _send(self, caption: Caption) -> None:
        target = self._target
        stream = await self._rest.get()
        call = stream.video.call(target.call_type, target.call_id)
        await call.send_closed_caption(
            speaker_id=caption.speaker_id,
            text=caption.text,
            start_time=caption.start_time,
            end_time=caption.end_time,
            user_id=target.user_id,
        )

    async def close(self, timeout: float = 2.0) -> None:
        """Post the sentence in progress and what is queued (up to ``timeout``), then stop."""
        if self.enabled:
            self._finish_sentence()
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
