"""The aiortc stack's bot tracks (3.3.3-6.x only)."""

import asyncio

import pytest

from pipecat_getstream.stacks import stack_name

if stack_name() != "aiortc":
    pytest.skip(
        "aiortc stack (getstream<7) only: 7.x publishes through getstream_rtc tracks",
        allow_module_level=True,
    )

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack  # noqa: E402

from pipecat_getstream.media.video import image_to_video_frame  # noqa: E402
from pipecat_getstream.stacks.aiortc.media import ImageVideoTrack  # noqa: E402
from pipecat_getstream.stacks.aiortc.tracks import SharedReaderTrack  # noqa: E402


class CountingTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    async def recv(self) -> int:
        if self.readyState != "live":
            raise MediaStreamError
        await asyncio.sleep(0.002)  # paced source
        self.n += 1
        return self.n


async def _read(track: SharedReaderTrack, count: int) -> list[int]:
    return [await track.recv() for _ in range(count)]


async def test_single_reader_sees_the_source_unchanged():
    track = SharedReaderTrack(CountingTrack())
    assert await _read(track, 5) == [1, 2, 3, 4, 5]


async def test_two_concurrent_readers_each_get_every_frame():
    source = CountingTrack()
    track = SharedReaderTrack(source)
    first = asyncio.create_task(_read(track, 20))
    await asyncio.sleep(0.011)  # the second reader joins later (like a restored sender)
    second = asyncio.create_task(_read(track, 10))
    a, b = await asyncio.gather(first, second)
    assert a == list(range(1, 21))
    assert b == list(range(b[0], b[0] + 10))  # contiguous, from the live edge
    assert source.n == 20  # the source was read once per frame, not once per reader


async def test_stop_stops_the_source():
    source = CountingTrack()
    track = SharedReaderTrack(source)
    track.stop()
    assert source.readyState == "ended"
    with pytest.raises(MediaStreamError):
        await track.recv()


async def test_track_holds_last_image_and_paces():
    track = ImageVideoTrack(32, 16, framerate=50)
    first = await track.recv()
    assert (first.width, first.height) == (32, 16)
    track.set_frame(image_to_video_frame(bytes(8 * 8 * 3), (8, 8), "RGB"))
    frames = [await track.recv() for _ in range(3)]
    assert all((f.width, f.height) == (8, 8) for f in frames)
    assert [f.pts for f in frames] == [1800, 3600, 5400]
    track.stop()
