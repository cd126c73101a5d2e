"""Video between two SDK participants through the local SFU."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import av
import numpy as np
import pytest
from aiortc.mediastreams import VideoStreamTrack

from .sdk_kit import SdkKit, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


class PatternTrack(VideoStreamTrack):
    """A 320x240, 30 fps test pattern."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        image = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        image[:, : self.width // 2] = (200, 40, 40)
        image[:, self.width // 2 :, 1] = (self.count * 4) % 256
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        self.count += 1
        return frame


async def test_video_frames_of_the_published_size_arrive(sdk: SdkKit) -> None:
    call_id = f"video-{uuid.uuid4().hex[:8]}"
    alice = sdk.participant(call_id, "alice")
    bob = sdk.participant(call_id, "bob")
    frames: list[tuple[float, int, int]] = []
    added: list[tuple[str, str, Any]] = []
    readers: list[asyncio.Task[None]] = []

    async def read(track: Any) -> None:
        while True:
            frame = await track.recv()
            frames.append((time.perf_counter(), frame.width, frame.height))

    @bob.on("track_added")
    async def on_track_added(track_id: str, kind: str, user: Any) -> None:
        added.append((track_id, kind, user))
        if kind == "video":
            track = bob.subscriber_pc.add_track_subscriber(track_id)
            assert track is not None
            readers.append(asyncio.ensure_future(read(track)))

    async with alice, bob:
        await alice.add_tracks(video=PatternTrack())
        assert await wait_for(lambda: len(frames) >= 10, timeout=20), f"tracks added: {added}"
        await asyncio.sleep(2.0)
        window = [f for f in frames if f[0] >= frames[-1][0] - 1.5]
        fps = (len(window) - 1) / (window[-1][0] - window[0][0])
        print(f"\n[local-server] video {frames[-1][1]}x{frames[-1][2]} at {fps:.1f} fps")
        for reader in readers:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
    video = [a for a in added if a[1] == "video"]
    assert video and video[0][2] is not None and video[0][2].user_id == "alice"
    assert ":TRACK_TYPE_VIDEO:" in video[0][0]
    assert {(w, h) for _, w, h in frames} == {(320, 240)}
    assert fps > 10
