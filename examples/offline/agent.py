"""The offline bot: the real transport with Silero VAD and a small local agent.

``EchoAgent`` stands in for the STT → LLM → TTS chain of the cloud example. It
listens to the Silero VAD's turn frames, answers each finished user turn by
saying it back, interrupts itself when the user talks over it, and reports its
state (``listening`` / ``thinking`` / ``speaking``) so the bot can publish it
as a custom event.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InputAudioRawFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from pipecat_getstream import GetstreamParams, GetstreamTransport

try:  # Pipecat >= 0.0.10x: VAD is a processor of its own.
    from pipecat.processors.audio.vad_processor import VADProcessor
except ImportError:  # Older Pipecat: the input transport runs the VAD.
    VADProcessor = None  # type: ignore[assignment,misc]

#: Seconds of silence that end a user turn (Silero's default, 0.2 s, splits sentences).
VAD_STOP_SECS = 0.5
SAMPLE_RATE = 16000
_BYTES_PER_SECOND = SAMPLE_RATE * 2


@dataclass
class AgentStats:
    """What the agent did, on the process's monotonic clock."""

    turns_heard: int = 0
    turns_answered: int = 0
    interruptions: list[float] = field(default_factory=list)


class EchoAgent(FrameProcessor):
    """Answers every user turn by repeating it, and stops talking when interrupted.

    Place it after the VAD and before ``transport.output()``. It consumes the
    input audio, and replies like a TTS service does (``TTSStartedFrame``,
    ``TTSAudioRawFrame``..., ``TTSStoppedFrame``), so the output transport
    reports ``BotStartedSpeakingFrame``/``BotStoppedSpeakingFrame`` as usual.

    Args:
        on_state: Called with ``"listening"``, ``"thinking"`` or ``"speaking"``
            whenever the agent's state changes.
        think_secs: Pause between the end of a user turn and the reply.
        pre_roll_secs: Audio kept from before the VAD noticed speech (it
            reacts only after ``start_secs`` of it).
        **kwargs: Passed to ``FrameProcessor``.

    """

    def __init__(
        self,
        *,
        on_state: Callable[[str], None] | None = None,
        think_secs: float = 0.3,
        pre_roll_secs: float = 0.5,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.stats = AgentStats()
        self.state = "listening"
        self._on_state = on_state
        self._think_secs = think_secs
        self._pre_roll: deque[bytes] = deque()
        self._pre_roll_bytes = int(pre_roll_secs * _BYTES_PER_SECOND)
        self._utterance: bytearray | None = None
        self._reply_task: asyncio.Task[None] | None = None
        self._pending_audio = b""
        self._reply_pending = False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Follow the conversation; pass every frame on except the user's audio."""
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            self._keep_audio(frame)
            return
        if isinstance(frame, VADUserStartedSpeakingFrame):
            await self._user_started()
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._user_stopped()
        elif isinstance(frame, BotStartedSpeakingFrame):
            if self._reply_pending:
                self._reply_pending = False
                self.stats.turns_answered += 1
            self._set_state("speaking")
        elif isinstance(frame, BotStoppedSpeakingFrame):
            if self.state == "speaking":
                self._set_state("listening")
        await self.push_frame(frame, direction)

    async def cleanup(self) -> None:
        """Drop a reply still being prepared when the pipeline stops."""
        if self._reply_task is not None:
            await self.cancel_task(self._reply_task)
            self._reply_task = None
        await super().cleanup()

    def _keep_audio(self, frame: InputAudioRawFrame) -> None:
        if frame.sample_rate != SAMPLE_RATE or frame.num_channels != 1:
            return  # the transport is configured for 16 kHz mono
        if self._utterance is not None:
            self._utterance += frame.audio
            return
        self._pre_roll.append(frame.audio)
        while sum(map(len, self._pre_roll)) > self._pre_roll_bytes:
            self._pre_roll.popleft()

    async def _user_started(self) -> None:
        resumed = b""
        task, self._reply_task = self._reply_task, None
        if task is not None and not task.done():
            await self.cancel_task(task)
        if self.state == "thinking" and not self._reply_pending:
            # Only a pause before the reply began: the user goes on with the same turn.
            resumed, self._pending_audio = self._pending_audio, b""
            self.stats.turns_heard -= 1
        elif self._reply_pending or self.state == "speaking":
            # The user talks over the bot: flush the queued reply everywhere
            # (an InterruptionFrame both ways, as Pipecat's user aggregator does).
            logger.info(f"{self}: user interrupted the bot")
            self.stats.interruptions.append(time.monotonic())
            self._reply_pending = False
            await self.broadcast_interruption()
        self._utterance = bytearray(resumed + b"".join(self._pre_roll))
        self._pre_roll.clear()
        self._set_state("listening")

    def _user_stopped(self) -> None:
        if self._utterance is None:
            return
        # The VAD reports the end after VAD_STOP_SECS of silence: drop that tail.
        tail = int(VAD_STOP_SECS * _BYTES_PER_SECOND) & ~1
        audio = bytes(self._utterance[: max(0, len(self._utterance) - tail)])
        self._utterance = None
        if len(audio) < _BYTES_PER_SECOND // 10:  # a click, not a turn
            self._set_state("listening")
            return
        self.stats.turns_heard += 1
        self._set_state("thinking")
        self._pending_audio = audio
        self._reply_task = self.create_task(self._reply(audio), "echo-reply")

    async def _reply(self, audio: bytes) -> None:
        await asyncio.sleep(self._think_secs)
        self._reply_pending = True
        await self.push_frame(TTSStartedFrame())
        chunk = _BYTES_PER_SECOND // 10  # 100 ms per frame
        for i in range(0, len(audio), chunk):
            await self.push_frame(TTSAudioRawFrame(audio[i : i + chunk], SAMPLE_RATE, 1))
        await self.push_frame(TTSStoppedFrame())

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            if self._on_state is not None:
                self._on_state(state)


class StatePublisher:
    """Sends the agent's state to the call as custom events, in order, off the pipeline.

    Args:
        transport: The bot's transport.

    """

    def __init__(self, transport: GetstreamTransport):
        self._transport = transport
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.sent: list[tuple[float, str]] = []

    def publish(self, state: str) -> None:
        """Queue ``{"type": "agent_state", "state": state}`` for sending."""
        self._queue.put_nowait(state)

    def start(self) -> None:
        """Start sending (call it once the transport is connected)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop sending; what is still queued is dropped."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            state = await self._queue.get()
            try:
                await self._transport.send_custom_event({"type": "agent_state", "state": state})
                self.sent.append((time.monotonic(), state))
            except Exception as exc:  # the event is informative: never stop the bot for it
                logger.warning(f"could not send agent state {state!r}: {exc}")


@dataclass
class OfflineBot:
    """The parts of the offline bot the demo needs to reach."""

    transport: GetstreamTransport
    task: PipelineTask
    agent: EchoAgent
    publisher: StatePublisher


def build_bot(
    *, base_url: str, api_key: str, api_secret: str, call_type: str, call_id: str, user_id: str
) -> OfflineBot:
    """Build the transport, VAD, agent and pipeline task of the offline bot.

    The VAD is Pipecat's Silero model (shipped inside Pipecat). Where the
    installed Pipecat has ``VADProcessor`` it runs as a processor after the
    input; older versions run it inside the input transport
    (``TransportParams.vad_analyzer``). Either way the agent sees
    ``VADUserStartedSpeakingFrame``/``VADUserStoppedSpeakingFrame``.

    Args:
        base_url: The GetStream API to use (the local server's URL).
        api_key: API key.
        api_secret: API secret.
        call_type: Call type.
        call_id: Call id.
        user_id: The bot's user id.

    Returns:
        The bot, ready to run with a ``PipelineRunner``.

    """
    vad = SileroVADAnalyzer(params=VADParams(stop_secs=VAD_STOP_SECS))
    params = GetstreamParams(audio_in_enabled=True, audio_out_enabled=True)
    if VADProcessor is None:
        params.vad_analyzer = vad  # type: ignore[attr-defined,unused-ignore]
    transport = GetstreamTransport(
        api_key=api_key,
        api_secret=api_secret,
        call_type=call_type,
        call_id=call_id,
        user_id=user_id,
        params=params,
        base_url=base_url,
    )
    publisher = StatePublisher(transport)
    agent = EchoAgent(on_state=publisher.publish)
    processors: list[FrameProcessor] = [transport.input()]
    if VADProcessor is not None:
        processors.append(VADProcessor(vad_analyzer=vad))
    processors += [agent, transport.output()]
    task = PipelineTask(Pipeline(processors), params=PipelineParams(enable_metrics=True))
    return OfflineBot(transport=transport, task=task, agent=agent, publisher=publisher)
