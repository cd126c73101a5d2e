"""A browser user falls silent with Opus DTX on: the bot's VAD ends their turn in the silence.

The local server's call settings enable Opus DTX and its SFU answers the browser's publisher
with ``usedtx=1``: while the microphone is silent, Chromium sends a pair of audio packets every
~400 ms instead of one every 20 ms. The microphone is a WAV of the kit's synthetic voice
(speech to Silero from start to end) then seconds of digital silence, which Chromium loops:
turn after turn. The bot is the project's ``GetstreamTransport`` in a Pipecat pipeline with
two of Pipecat's ``VADProcessor`` (Silero) on the same audio, one per ``stop_secs``:

* 0.2 s, Pipecat's default. Chromium's Opus encoder goes on sending ~320 ms of ordinary
  packets after speech before DTX starts (its hangover), which is enough for this VAD to
  end the turn with or without the transport's gap filling;
* 0.8 s (Pipecat's default before 1.0, common in deployed bots), longer than that hangover:
  the turn ends within the silence only because the transport fills the DTX gaps with
  silence on the clock (:mod:`pipecat_getstream.media.dtx`), per participant, or because
  the mix (``audio_in_user_tracks=False``) is paced by the clock.

For every complete turn the tests check, by order of arrival at the bot rather than by
wall-clock bounds: DTX is in effect (over the silence the SFU receives far fewer audio
packets than the 50 a second of real time), and each VAD's ``VADUserStoppedSpeakingFrame``
arrives after the turn's last speech and before the next turn's first speech. The negative
control runs without the gap filling (the input processor's ``GapFiller`` replaced by one
that never fills): the 0.8 s VAD's turns then do not end within the silence. The VAD's idle
fallback (``audio_idle_timeout``: a forced stop after 1 s without audio) is off, as DTX's
~400 ms packets defeat it anyway and here it could only hide a missing filler.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from tests.browser.websdk.fixtures import web_server, websdk_site
from tests.browser.websdk.web_user import WebUser
from tests.e2e.bot import wait_until

from pipecat_getstream import GetstreamTransport
from pipecat_getstream.media.dtx import GapFiller
from pipecat_getstream.pipeline import input as input_module
from pipecat_getstream.stacks import stack_name
from pipecat_getstream.testing.signals import SAMPLE_RATE, rms, silence, voiced
from pipecat_getstream.transport import GetstreamParams

__all__ = ["web_server", "websdk_site"]

pytestmark = [pytest.mark.timeout(120)]

#: One turn of the microphone WAV: speech, then silence much longer than either VAD's stop.
SPEECH_SECS = 1.2
SILENT_SECS = 3.0
#: The VADs' ``stop_secs``: Pipecat's default, and one longer than Chromium's DTX hangover.
SHORT_STOP = 0.2
LONG_STOP = 0.8
#: Complete turns measured (the first speech heard may be cut short by the join: skipped).
TURNS = 3
#: RMS (s16) above which a frame the bot receives counts as the browser's speech.
LOUD_RMS = 500.0
#: A pause between loud frames longer than this separates two turns (wall time at the bot).
TURN_GAP_SECS = 1.0
#: Audio packets a second in real time (one per 20 ms); DTX sends ~5 while silent.
REAL_TIME_PACKETS = 50.0
BROWSER = "web-dtx"


def write_turns_wav(path: Path) -> Path:
    """The browser's microphone: ``SPEECH_SECS`` of voice, then ``SILENT_SECS`` of zeros."""
    samples = np.concatenate([voiced(SPEECH_SECS), silence(SILENT_SECS)])
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.tobytes())
    return path


@dataclass
class Entry:
    """One frame a recorder saw: an audio frame or a VAD event, in order of arrival."""

    at: float  # time.monotonic() on arrival
    kind: str  # "audio", "start" (the VAD says speaking) or "stop" (quiet)
    samples: int = 0
    loud: bool = False


class TurnRecorder(FrameProcessor):
    """Logs the input audio and the VAD frames just upstream of it, in order of arrival.

    The VAD frames stop here (the next VAD's recorder sees only its own); all else passes.
    """

    def __init__(self) -> None:
        super().__init__()
        self.log: list[Entry] = []
        self.rate = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        now = time.monotonic()
        if direction == FrameDirection.DOWNSTREAM:
            if isinstance(frame, InputAudioRawFrame):
                samples = np.frombuffer(frame.audio, dtype=np.int16)
                self.rate = frame.sample_rate
                loud = len(samples) > 0 and rms(samples) > LOUD_RMS
                self.log.append(Entry(now, "audio", len(samples), loud))
            elif isinstance(frame, VADUserStartedSpeakingFrame):
                self.log.append(Entry(now, "start"))
                return
            elif isinstance(frame, VADUserStoppedSpeakingFrame):
                self.log.append(Entry(now, "stop"))
                return
        await self.push_frame(frame, direction)

    def speech_runs(self) -> list[list[int]]:
        """Indices (into ``log``) of the loud frames, split where speech paused long."""
        runs: list[list[int]] = []
        for index, entry in enumerate(self.log):
            if not entry.loud:
                continue
            if not runs or entry.at - self.log[runs[-1][-1]].at > TURN_GAP_SECS:
                runs.append([])
            runs[-1].append(index)
        return runs


class PacketCounter:
    """Samples the SFU's count of audio packets received from one publisher, ten times a second.

    Args:
        server: The ``LocalStreamServer``.
        call_id: The call.
        user_id: The publisher.

    """

    def __init__(self, server: Any, call_id: str, user_id: str) -> None:
        self._server = server
        self._call_id = call_id
        self._user_id = user_id
        self.samples: list[tuple[float, int]] = []

    def _read(self) -> int | None:
        for session in self._server.sessions("default", self._call_id):
            if session["user_id"] == self._user_id:
                return session["frames_received"].get("TRACK_TYPE_AUDIO")
        return None

    async def run(self) -> None:
        """Sample until cancelled (from a worker thread: the server call blocks)."""
        while True:
            count = await asyncio.to_thread(self._read)
            if count is not None:
                self.samples.append((time.monotonic(), count))
            await asyncio.sleep(0.1)

    def rate(self, start: float, end: float) -> float | None:
        """Packets a second between the first and last samples within ``[start, end]``."""
        inside = [(t, n) for t, n in self.samples if start <= t <= end]
        if len(inside) < 2 or inside[-1][0] - inside[0][0] < 0.5:
            return None
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


@dataclass
class Turn:
    """What one VAD made of one complete turn and the silence after it."""

    vad_started: bool  # the VAD said "speaking" during the turn's speech
    stops_in_silence: int  # its stops between the turn's last speech and the next speech
    latency_secs: float | None  # wall time from the last speech frame to the first such stop
    latency_audio_secs: float | None  # audio the VAD was given in that time
    silence_secs: float  # wall time from the last speech frame to the next speech frame
    silence_audio_secs: float  # audio the bot's pipeline received in that time
    silence_packets_per_sec: float | None  # the SFU's rate over the middle of the silence


def turns_of(recorder: TurnRecorder, packets: PacketCounter) -> list[Turn]:
    """The complete turns in a recorder's log (the first and the last speech cut off)."""
    log = recorder.log

    def audio_secs(start: int, end: int) -> float:
        samples = sum(e.samples for e in log[start:end] if e.kind == "audio")
        return samples / max(1, recorder.rate)

    runs = recorder.speech_runs()
    turns: list[Turn] = []
    for run, following in zip(runs[1:-1], runs[2:], strict=False):
        last, onset = run[-1], following[0]
        stops = [i for i in range(last, onset) if log[i].kind == "stop"]
        turns.append(
            Turn(
                vad_started=any(e.kind == "start" for e in log[run[0] : last + 1]),
                stops_in_silence=len(stops),
                latency_secs=log[stops[0]].at - log[last].at if stops else None,
                latency_audio_secs=audio_secs(last + 1, stops[0]) if stops else None,
                silence_secs=log[onset].at - log[last].at,
                silence_audio_secs=audio_secs(last + 1, onset),
                silence_packets_per_sec=packets.rate(log[last].at + 0.5, log[onset].at - 0.3),
            )
        )
    return turns[:TURNS]


class NoGapFiller(GapFiller):
    """A gap filler that never generates silence: the transport without DTX gap filling."""

    def due(self) -> list[tuple[str, int]]:
        """Nothing is ever due."""
        return []


@dataclass
class BotRun:
    """The running bot: its transport and one recorder per VAD ``stop_secs``."""

    transport: GetstreamTransport
    recorders: dict[float, TurnRecorder] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def vad_bot(server: Any, call_id: str, user_tracks: bool) -> AsyncIterator[BotRun]:
    """A bot ``input -> (VADProcessor -> recorder) per stop_secs -> output``, in the call."""
    transport = GetstreamTransport(
        api_key=server.api_key,
        api_secret=server.api_secret,
        call_type="default",
        call_id=call_id,
        user_id="pipecat-bot",
        params=GetstreamParams(audio_in_user_tracks=user_tracks),
        base_url=server.base_url,
    )
    bot = BotRun(transport)
    processors: list[FrameProcessor] = [transport.input()]
    for stop_secs in (SHORT_STOP, LONG_STOP):
        analyzer = SileroVADAnalyzer(params=VADParams(stop_secs=stop_secs))
        bot.recorders[stop_secs] = TurnRecorder()
        processors += [
            VADProcessor(vad_analyzer=analyzer, audio_idle_timeout=0),
            bot.recorders[stop_secs],
        ]
    task = PipelineTask(
        Pipeline([*processors, transport.output()]),
        params=PipelineParams(),
        idle_timeout_secs=None,
    )
    connected = asyncio.Event()

    @transport.event_handler("on_connected")
    async def on_connected(_transport: GetstreamTransport) -> None:
        connected.set()

    runner = asyncio.create_task(PipelineRunner(handle_sigint=False).run(task))
    try:
        await asyncio.wait_for(connected.wait(), 20)
        yield bot
    finally:
        await task.queue_frame(EndFrame())
        try:
            await asyncio.wait_for(asyncio.shield(runner), 20)
        except Exception:  # the test's own failure matters more
            runner.cancel()
            await asyncio.wait({runner}, timeout=10)


async def run_turns(
    server: Any, site: Any, browser_page: Any, wav: Path, *, user_tracks: bool
) -> dict[float, list[Turn]]:
    """The browser joins a call with the bot and talks until ``TURNS`` turns are complete.

    Returns:
        Each VAD's turns, by its ``stop_secs``.
    """
    call_id = f"web-dtx-{uuid.uuid4().hex[:8]}"
    async with vad_bot(server, call_id, user_tracks) as bot:
        page = await browser_page(wav=wav)
        browser = await WebUser(page, server, site.origin, BROWSER).open()
        await browser.connect()
        packets = PacketCounter(server, call_id, BROWSER)
        sampling = asyncio.create_task(packets.run())
        recorder = bot.recorders[LONG_STOP]
        try:
            await browser.join(call_id, mic=True)
            # TURNS complete turns need TURNS + 2 runs of speech: the first is skipped, the
            # last only ends the turn before it.
            try:
                await wait_until(
                    lambda: len(recorder.speech_runs()) >= TURNS + 2,
                    timeout=20 + (TURNS + 2) * (SPEECH_SECS + SILENT_SECS),
                    interval=0.1,
                )
            except AssertionError as exc:
                runs = len(recorder.speech_runs())
                raise AssertionError(
                    f"the bot heard {runs} runs of speech, not {TURNS + 2}: {exc}\n"
                    f"{await browser.diagnostics()}"
                ) from None
        finally:
            sampling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampling
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.leave(), 10)
        return {stop: turns_of(rec, packets) for stop, rec in bot.recorders.items()}


def report(label: str, by_stop: dict[float, list[Turn]]) -> None:
    """Print each VAD's per-turn figures (shown with ``pytest -s``)."""
    print(f"\n[{stack_name()} stack, {label}]")
    for stop_secs, turns in by_stop.items():
        for n, turn in enumerate(turns, 1):
            latency = "none"
            if turn.latency_secs is not None and turn.latency_audio_secs is not None:
                latency = (
                    f"{1000 * turn.latency_secs:.0f} ms"
                    f" (audio {1000 * turn.latency_audio_secs:.0f} ms)"
                )
            rate = turn.silence_packets_per_sec
            print(
                f"  vad stop_secs={stop_secs} turn {n}: last speech -> vad stop {latency}"
                f" (stops in silence {turn.stops_in_silence}, started {turn.vad_started});"
                f" silence {turn.silence_secs:.2f} s, audio received in it"
                f" {turn.silence_audio_secs:.2f} s, SFU packets in it"
                f" {'?' if rate is None else f'{rate:.1f}'}/s"
            )


def assert_dtx(turns: list[Turn]) -> None:
    """DTX is in effect: the silences carried far fewer packets than real time."""
    assert len(turns) == TURNS, turns
    for turn in turns:
        assert turn.silence_packets_per_sec is not None, turns
        assert turn.silence_packets_per_sec < REAL_TIME_PACKETS / 4, turns


@pytest.fixture
def turns_wav(tmp_path: Path) -> Path:
    return write_turns_wav(tmp_path / "turns.wav")


@pytest.mark.parametrize("user_tracks", [True, False], ids=["per-user", "mixed"])
async def test_dtx_silent_turn_ends_within_the_silence(
    web_server, websdk_site, browser_page, turns_wav, user_tracks
):
    by_stop = await run_turns(
        web_server, websdk_site, browser_page, turns_wav, user_tracks=user_tracks
    )
    report("per-user audio" if user_tracks else "mixed audio", by_stop)
    for turns in by_stop.values():
        assert_dtx(turns)
        for turn in turns:
            # The VAD heard the speech, and its stop came before the next speech reached the
            # bot: within the silence, which the bot received as continuous audio.
            assert turn.vad_started, turns
            assert turn.stops_in_silence == 1, turns
            assert turn.silence_audio_secs > turn.silence_secs / 2, turns


async def test_without_gap_filling_turns_do_not_end_in_the_silence(
    web_server, websdk_site, browser_page, turns_wav, monkeypatch
):
    monkeypatch.setattr(input_module, "GapFiller", NoGapFiller)
    by_stop = await run_turns(web_server, websdk_site, browser_page, turns_wav, user_tracks=True)
    report("per-user audio, gap filling off", by_stop)
    turns = by_stop[LONG_STOP]
    assert_dtx(turns)
    for turn in turns:
        # Only the packets reached the VAD: far less audio than the silence lasted, too
        # little for a 0.8 s stop, so the turn runs on into the next speech.
        assert turn.silence_audio_secs < turn.silence_secs / 2, turns
        assert turn.stops_in_silence == 0, turns
