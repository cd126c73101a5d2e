"""CPU per second of bot audio on the output path: ``python -m bench.audio_out_path``.

The bot's audio from a TTS service (24 kHz speech, ``assets/hello.wav``) through the steps
the output takes, on the installed SDK's stack, as fast as it goes (the writer's and the
track's pacing are skipped: ``asyncio.sleep`` returns at once in this process and the
writer's lead is unbounded), so only the work done on the audio is measured:

1. Pipecat's media sender: its stream resampler from the TTS rate to the output's rate,
   then chunks of ``audio_out_10ms_chunks`` (4) x 10 ms;
2. the transport: :class:`~pipecat_getstream.media.timeline.OutputNormalizer`, then the
   clock-paced :class:`~pipecat_getstream.media.audio_out.PacedAudioWriter`;
3. the stack's audio sink, and on SDK 3.3.3-6.x aiortc reading the bot's track every 20 ms
   once per 20 ms frame written (as its RTP sender does; the Opus encoder is left out: it
   is the same for all).

The figure is the process's CPU time over a run divided by the seconds of audio sent (the
least of ``--repeat`` runs, and their median: the machine is shared). The
output's rate is ``--out-rate`` (what the output processor runs at: before this change
``audio_out_sample_rate``, 16 kHz by default; now 48 kHz on SDK 3.3.3-6.x). Results go to
``bench/results/audio_out_path.json`` under ``--label``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

from pipecat.audio.utils import create_stream_resampler

from pipecat_getstream.media.audio_out import PacedAudioWriter
from pipecat_getstream.media.timeline import OutputNormalizer
from pipecat_getstream.stacks import sdk_version, stack_name
from pipecat_getstream.testing.signals import load_wav

ROOT = Path(__file__).resolve().parents[1]
TTS_RATE = 24000
CHUNK_SECS = 0.04  # Pipecat's audio_out_10ms_chunks=4


def make_sink(rate: int) -> tuple[Any, Any]:
    """The stack's audio sink at ``rate`` and, on aiortc, the track aiortc reads."""
    if stack_name() == "rust":
        import getstream_rtc

        from pipecat_getstream.stacks.rust.media import RustAudioSink

        track = getstream_rtc.LocalAudioTrack(pcm_queue_capacity=120.0)
        return RustAudioSink(track, rate, 1), None
    from pipecat_getstream.stacks.aiortc.media import AiortcAudioSink

    sink = AiortcAudioSink(rate, 1)
    return sink, sink.track


async def _no_sleep(_delay: float, result: Any = None) -> Any:
    return result


async def run(out_rate: int, seconds: float) -> dict[str, Any]:
    speech = load_wav(ROOT / "assets" / "hello.wav", rate=TTS_RATE)
    per_chunk = int(TTS_RATE * CHUNK_SECS)
    sink, track = make_sink(out_rate)
    writer = PacedAudioWriter(sink, out_rate, 1, lead_secs=1e9)
    normalizer = OutputNormalizer(out_rate, 1)
    resampler = create_stream_resampler()
    asyncio.sleep = _no_sleep  # type: ignore[assignment]  # no pacing: see the docstring
    sent = read = samples_read = 0
    cpu0, wall0 = time.process_time(), time.monotonic()
    while sent < seconds * TTS_RATE:
        offset = sent % (len(speech) - per_chunk)
        chunk = speech[offset : offset + per_chunk].tobytes()
        audio = await resampler.resample(chunk, TTS_RATE, out_rate)
        audio = normalizer.normalize(audio, out_rate, 1)
        await writer.write(audio, out_rate, 1)
        sent += per_chunk
        while track is not None and read < writer.frames_written:
            samples_read += (await track.recv()).samples
            read += 1
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    sink.stop()
    audio_secs = sent / TTS_RATE
    return {
        "stack": stack_name(),
        "sdk": ".".join(map(str, sdk_version())),
        "out_rate": out_rate,
        "audio_secs": round(audio_secs, 2),
        "wall_secs": round(wall, 2),
        "cpu_ms_per_audio_sec": round(1000 * cpu / audio_secs, 2),
        "track_samples_read": samples_read if track is not None else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-rate", type=int, default=16000, help="the output's rate")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of bot audio")
    parser.add_argument("--label", default="", help="name of this run in the results")
    parser.add_argument("--repeat", type=int, default=7, help="runs; the figures are the min")
    args = parser.parse_args()
    runs = [asyncio.run(run(args.out_rate, args.seconds)) for _ in range(args.repeat)]
    figures = min(runs, key=lambda r: r["cpu_ms_per_audio_sec"])
    figures["cpu_ms_per_audio_sec_median"] = statistics.median(
        r["cpu_ms_per_audio_sec"] for r in runs
    )
    print(json.dumps(figures, indent=2))
    out = ROOT / "bench" / "results" / "audio_out_path.json"
    existing = json.loads(out.read_text()) if out.exists() else {}
    key = f"{args.label or 'run'}/{figures['stack']}-{figures['sdk']}/{args.out_rate}"
    existing[key] = figures
    out.write_text(json.dumps(existing, indent=2) + "\n")


if __name__ == "__main__":
    main()
