"""User stops talking -> Pipecat's VAD says so, with DTX-like gaps and without.

``python -m bench.dtx_turn_end [--turns N] [--mixed] [--hangover P]``

A :class:`~pipecat_getstream.testing.SimulatedParticipant` says 2 s of speech (the kit's
synthetic voice, speech to Silero from start to end) to a bot whose pipeline runs Pipecat's
Silero VAD on the transport's audio, turn after turn in one call, turns without and with DTX
alternating. The bench taps the participant's microphone at the local SFU: a packet longer
than the SFU's ``VOICED_BYTES`` is speech (silence encodes to a few bytes on both SDKs).
After each turn either the participant's SDK goes on sending silence (no DTX), or, as a DTX
sender would, no packet of theirs reaches the bot from the first silent packet after the
speech (``--hangover P``: after P silent packets) until the VAD has spoken (the SFU drops
them). Measured per turn: from the moment the participant finished sending the speech (its
last voiced packet reached the SFU) to the VAD's change to "quiet". With the transport's gap
filling both should be the same within one 20 ms frame; without it, the DTX turns would
never end.

Why these choices (they decide what is compared):

- The SDKs send the end of the speech 30-60 ms after ``say()`` wrote it (their send queue,
  and Opus' decaying last frames), so the speech end is read at the SFU rather than taken as
  ``say()``'s start + 2 s (the "nominal end"; ``sender_lag_median_ms``: the difference). An earlier
  version dropped packets from the nominal end on: that cut the last 20-40 ms of speech from
  the DTX turns only, and started their clock before the speech had ended.
- The SFU's drop leaves a gap in the sequence numbers, which a real DTX sender does not:
  SDK 7.x NACKs the missing packets and, after the gap, sometimes gets them all back and
  hands them over together (silence, ~200 ms of it, after the turn).
- SDK 6.x (aiortc) holds the last 3 audio packets in its jitter buffer until later ones
  arrive, so with the drop from the first silent packet its DTX turns lose the last 60 ms of
  speech until packets flow again (a real Opus DTX sender sends ~10 silent packets before it
  stops, which push it out): ``--hangover 3`` lets enough through.

Turn ``2k`` (no DTX) and ``2k+1`` (DTX) form a pair (redone, and counted in
``discarded_pairs``, when the VAD heard a pause before a turn's speech had ended, as a
participant stalled by a loaded machine makes it); the report gives the median of the
paired differences with a 95 % confidence interval (sign test) and their mean (normal
approximation), and the 1-minute load average before and after the run. The VAD decides on
32 ms windows of 20 ms frames, so single turns fall on a 20 ms grid, and where the windows
fall against the end of the speech moves a turn by 20-40 ms. The pause between turns has a
random part of up to 8 frames so that this phase is random for every turn: with a fixed
pause, alternating turns fell on different phases, and the DTX turns came out one frame
slower at the same timing of every frame. Writes ``bench/results/dtx_turn_end.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from getstream.video.rtc.pb.stream.video.sfu.models import models_pb2
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADState
from pipecat.frames.frames import EndFrame, Frame, InputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from pipecat_getstream import GetstreamTransport
from pipecat_getstream.stacks import stack_name
from pipecat_getstream.testing import SimulatedParticipant
from pipecat_getstream.testing.pytest_plugin import running_server
from pipecat_getstream.testing.server.sfu.speakers import VOICED_BYTES
from pipecat_getstream.testing.signals import SAMPLE_RATE, voiced
from pipecat_getstream.transport import GetstreamParams

ROOT = Path(__file__).resolve().parents[1]
SPEECH = voiced(2.0)
BOT = "dtx-bench-bot"
SPEAKER = "alice"
AUDIO = models_pb2.TRACK_TYPE_AUDIO
#: Silero's 512-sample windows and 20 ms frames (320 samples at 16 kHz) line up again
#: every 8 frames.
WINDOW_CYCLE_SECS = 0.16


class VadTimer(FrameProcessor):
    """Silero VAD over every input audio frame; notes when it turns quiet or speaking."""

    def __init__(self) -> None:
        super().__init__()
        self.vad = SileroVADAnalyzer()
        self._rate = 0
        self.speaking = False
        self.quiet_at: float | None = None
        self.changed = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            if frame.sample_rate != self._rate:
                self._rate = frame.sample_rate
                self.vad.set_sample_rate(frame.sample_rate)
            state = await self.vad.analyze_audio(frame.audio)
            if state == VADState.SPEAKING and not self.speaking:
                self.speaking = True
                self.changed.set()
            elif state == VADState.QUIET and self.speaking:
                self.speaking, self.quiet_at = False, time.monotonic()
                self.changed.set()
        await self.push_frame(frame, direction)

    async def cleanup(self) -> None:
        await super().cleanup()
        await self.vad.cleanup()  # its executor thread

    async def quiet_after(self, since: float, timeout: float) -> float:
        """When the VAD next turned quiet after ``since`` (waiting for it)."""
        deadline = time.monotonic() + timeout
        while self.speaking or self.quiet_at is None or self.quiet_at <= since:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(0.01, deadline - time.monotonic()))
        return self.quiet_at


class SpeechTap:
    """The speaker's microphone at the local SFU: when their speech ended, and DTX.

    Chained to the SFU's own per-packet hook of the speaker's published audio (it runs on
    the server's thread, before the packet is forwarded). :meth:`turn` starts a turn; in a
    DTX turn silent packet ``hangover + 1`` after the speech switches on the drop of
    everything the bot receives, so the bot gets all of the speech and nothing after it (but
    ``hangover`` silent packets).
    """

    def __init__(self, server: Any, hangover: int = 0) -> None:
        self._server = server
        self._hangover = hangover
        self._dtx = False
        self._silent = 0  # silent packets since the last voiced one
        self.speech_end: float | None = None  # arrival of the turn's last voiced packet
        self.silent_after: float | None = None  # arrival of the first silent packet after it

    def attach(self, call_id: str) -> None:
        """Hook the speaker's microphone (call once they publish)."""

        async def hook() -> None:
            call = self._server._state.find_call("default", call_id)
            sessions = [s for s in call.sessions.values() if s.user_id == SPEAKER and not s.gone]
            forwarder = next(s.published[AUDIO] for s in sessions if AUDIO in s.published)
            chained = forwarder.on_packet

            def on_packet(packet: Any) -> None:
                if chained is not None:
                    chained(packet)
                self._packet(len(packet.payload))

            forwarder.on_packet = on_packet

        self._server._loop_thread.run(hook())  # the bench's window into the local SFU

    def turn(self, dtx: bool) -> None:
        """Start timing a turn (before the speech is said)."""
        self.speech_end = self.silent_after = None
        self._dtx, self._silent = dtx, 0

    def _packet(self, size: int) -> None:
        now = time.monotonic()
        if size > VOICED_BYTES:
            self.speech_end, self._silent = now, 0
        elif self.speech_end is not None:
            self._silent += 1
            if self._silent == 1:
                self.silent_after = now
            if self._dtx and self._silent == self._hangover + 1:
                # A DTX sender stops here; this packet is dropped already.
                self._server.set_media_faults(drop_fraction=1.0, user_id=BOT)


def _summary(values: list[float]) -> dict[str, Any]:
    ms = sorted(round(1000 * v, 1) for v in values)
    quartiles = statistics.quantiles(ms, n=4, method="inclusive") if len(ms) > 1 else [ms[0]] * 3
    return {
        "turns": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "p25_ms": round(quartiles[0], 1),
        "p75_ms": round(quartiles[2], 1),
        "min_ms": ms[0],
        "max_ms": ms[-1],
    }


def _paired(no_dtx: list[float], dtx: list[float]) -> dict[str, Any]:
    """Paired differences (DTX minus no DTX): median (sign-test CI) and mean (normal CI)."""
    diffs = sorted(1000 * (b - a) for a, b in zip(no_dtx, dtx, strict=True))
    n = len(diffs)
    # Largest k with P(Binomial(n, 1/2) < k) <= 2.5 %: [d_k, d_(n+1-k)] covers the median.
    k, tail = 0, 0.0
    while k < n and tail + math.comb(n, k) / 2**n <= 0.025:
        tail += math.comb(n, k) / 2**n
        k += 1
    ci = [round(diffs[k - 1], 1), round(diffs[n - k], 1)] if k >= 1 else None
    mean = statistics.fmean(diffs)
    half = 1.96 * statistics.stdev(diffs) / math.sqrt(n) if n > 1 else math.nan
    return {
        "pairs": n,
        "median_ms": round(statistics.median(diffs), 1),
        "median_ci95_ms": ci,
        "mean_ms": round(mean, 1),
        "mean_ci95_ms": [round(mean - half, 1), round(mean + half, 1)],
    }


async def run(server: Any, turns: int, user_tracks: bool, hangover: int = 0) -> dict[str, Any]:
    call_id = f"dtx-{uuid.uuid4().hex[:8]}"
    transport = GetstreamTransport(
        api_key=server.api_key,
        api_secret=server.api_secret,
        call_type="default",
        call_id=call_id,
        user_id=BOT,
        params=GetstreamParams(audio_in_user_tracks=user_tracks),
        base_url=server.base_url,
    )
    vad = VadTimer()
    task = PipelineTask(
        Pipeline([transport.input(), vad, transport.output()]),
        params=PipelineParams(),
        idle_timeout_secs=None,
    )
    runner = asyncio.create_task(PipelineRunner(handle_sigint=False).run(task))
    tap = SpeechTap(server, hangover)
    pauses = random.Random(0)
    results: dict[str, list[float]] = {"no_dtx": [], "dtx": []}
    lags: list[float] = []
    discarded = 0  # pairs redone
    try:
        async with SimulatedParticipant(server, call_id, SPEAKER) as alice:
            # Talk until the bot's VAD hears alice (it has subscribed), then measure turns.
            for _ in range(10):
                said = await alice.say(SPEECH) + len(SPEECH) / SAMPLE_RATE
                with contextlib.suppress(asyncio.TimeoutError):
                    await vad.quiet_after(said, timeout=2)
                    break
            tap.attach(call_id)
            await asyncio.sleep(0.5)
            while len(results["dtx"]) < turns:
                if discarded > turns:
                    raise RuntimeError(f"{discarded} pairs without a clean end of speech")
                pair: list[float | None] = []
                for dtx in (False, True):
                    tap.turn(dtx)
                    said = await alice.say(SPEECH) + len(SPEECH) / SAMPLE_RATE
                    try:
                        quiet_at = await vad.quiet_after(said, timeout=10)
                    finally:
                        server.set_media_faults()
                    end = tap.speech_end
                    if end is not None and tap.silent_after is not None and quiet_at > end:
                        pair.append(quiet_at - end)
                        lags.append(end - said)
                    else:  # under load the VAD heard a pause before the speech had ended
                        pair.append(None)
                    # Packets flow again before the next turn, and a random number of frames
                    # puts the VAD's windows at a random phase against the speech's end.
                    await asyncio.sleep(0.5 + pauses.uniform(0.0, WINDOW_CYCLE_SECS))
                no_dtx, dtx_turn = pair
                if no_dtx is None or dtx_turn is None:
                    discarded += 1  # the pair is redone
                    continue
                results["no_dtx"].append(no_dtx)
                results["dtx"].append(dtx_turn)
    finally:
        await task.queue_frame(EndFrame())
        await asyncio.wait_for(runner, 20)
    return {name: _summary(values) for name, values in results.items()} | {
        "dtx_minus_no_dtx": _paired(results["no_dtx"], results["dtx"]),
        "sender_lag_median_ms": round(1000 * statistics.median(lags), 1),
        "discarded_pairs": discarded,
        "vad_stop_secs": vad.vad.params.stop_secs,
        "hangover_packets": hangover,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5, help="turns with and without DTX each")
    parser.add_argument("--mixed", action="store_true", help="audio_in_user_tracks=False")
    parser.add_argument(
        "--hangover",
        type=int,
        default=0,
        help="silent packets let through after the speech before the DTX drop (an Opus "
        "encoder with DTX sends ~10); 0, the default, drops from the first",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with running_server() as server:
        figures = asyncio.run(run(server, args.turns, not args.mixed, args.hangover))
    figures["load_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    figures["stack"] = stack_name()
    figures["mode"] = "mixed" if args.mixed else "per-user"
    print(json.dumps(figures, indent=2))
    out = ROOT / "bench" / "results" / "dtx_turn_end.json"
    existing = json.loads(out.read_text()) if out.exists() else {}
    key = f"{figures['stack']}/{figures['mode']}"
    existing[key + (f"/hangover-{args.hangover}" if args.hangover else "")] = figures
    out.write_text(json.dumps(existing, indent=2) + "\n")


if __name__ == "__main__":
    main()
