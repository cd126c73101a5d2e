"""One SDK participant in its own process, for tests that mix SDK generations.

Run with the Python of an environment that holds this project and a GetStream SDK
(3.x-6.x or 7.x; ``sdk_kit`` routes the SDK with the project's managers). It joins the
call on the server given on the command line, publishes a tone (and camera video in its
SDK's codec), and
prints JSON lines on stdout: ``{"event": "ready", ...}`` once published, then
``{"event": "result", ...}`` with what it received from ``--peer``; it leaves after
a line (or end of file) on stdin, or ``--seconds`` later.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import numpy as np  # noqa: E402

from tests.server.sdk_kit import (  # noqa: E402
    GENERATION,
    PARTICIPANT_CLASS,
    SDK_VERSION,
    SdkKit,
    dominant_frequency,
    wait_for,
)


@dataclass
class Address:
    """The server's address, as ``SdkKit`` needs it."""

    api_key: str
    api_secret: str
    base_url: str
    coordinator_ws_url: str


def emit(**fields: object) -> None:
    """Print one JSON line and flush it."""
    print(json.dumps(fields), flush=True)


async def run(args: argparse.Namespace) -> None:
    """Join, publish, listen for the peer, report."""
    kit = SdkKit(Address(args.api_key, args.api_secret, args.base_url, args.ws_url))
    me = kit.participant(args.call_id, args.user_id)
    codec = next(c for c in ("vp8", "h264", "vp9") if not PARTICIPANT_CLASS.cannot_publish(c))
    started = time.perf_counter()
    async with me:
        joined_ms = (time.perf_counter() - started) * 1000
        out = await me.publish_audio()
        await out.write_silence(0.3)
        await out.write_tone(args.tone, args.seconds)
        await me.publish_video(codec, 320, 240)
        if args.screen_share:
            width, height = (int(n) for n in args.screen_share.split("x"))
            await me.publish_video("vp8", width, height, screen_share=True)
        await me.subscribe_to_late_publishers()  # 3.x-6.x: the test's side published first
        emit(event="ready", sdk=SDK_VERSION, generation=GENERATION, video_codec=codec)
        t0 = time.perf_counter()
        await wait_for(
            lambda: (
                len(me.audio.loud_since(t0, args.peer)) >= 60
                and (not args.want_video or len(me.video_from(args.peer)) >= 10)
            ),
            timeout=args.seconds,
        )
        loud = me.audio.loud_since(t0, args.peer)
        freq = (
            dominant_frequency(np.concatenate([s for _, s in loud[10:60]]), me.audio.rate)
            if len(loud) >= 20
            else 0.0
        )
        emit(
            event="result",
            sdk=SDK_VERSION,
            joined_ms=round(joined_ms),
            audio_owners=sorted(me.audio.owners()),
            loud_frames=len(loud),
            freq=freq,
            tracks=[[u, k] for u, k, _ in me.tracks],
            video_sizes=sorted({f"{w}x{h}" for _, w, h in me.video_from(args.peer)}),
            video_frames=len(me.video_from(args.peer)),
        )
        # Stay (publishing) until the test has what it needs: a line or EOF on stdin.
        loop = asyncio.get_running_loop()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), args.seconds)
        emit(event="leaving")


def main() -> None:
    """Parse the command line and run the participant."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--ws-url", required=True, help="the coordinator WebSocket URL")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--api-secret", required=True)
    parser.add_argument("--call-id", required=True)
    parser.add_argument("--user-id", required=True)
    parser.add_argument("--peer", required=True, help="the user id to listen for")
    parser.add_argument("--tone", type=float, default=660.0)
    parser.add_argument("--want-video", action="store_true", help="also wait for its video")
    parser.add_argument("--screen-share", default="", help="also publish a WxH screen share")
    parser.add_argument("--seconds", type=float, default=15.0, help="the most time to listen")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
