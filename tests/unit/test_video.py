import numpy as np
import pytest

from pipecat_getstream.video import ImageVideoTrack, image_to_video_frame, video_frame_to_rgb


@pytest.mark.parametrize(
    "fmt, channels", [("RGB", 3), ("RGBA", 4), ("BGR", 3), ("L", 1), (None, 3)]
)
def test_formats_convert_to_yuv_with_the_right_colour(fmt, channels):
    w, h = 64, 48
    pixel = {
        "RGB": [200, 30, 30],
        "RGBA": [200, 30, 30, 255],
        "BGR": [30, 30, 200],
        "L": [128],
        None: [200, 30, 30],
    }[fmt]
    image = np.tile(np.array(pixel, dtype=np.uint8), w * h).tobytes()
    frame = image_to_video_frame(image, (w, h), fmt)
    assert frame.format.name == "yuv420p" and (frame.width, frame.height) == (w, h)
    rgb, size = video_frame_to_rgb(frame)
    assert size == (w, h)
    mean = np.frombuffer(rgb, dtype=np.uint8).reshape(h, w, 3).mean(axis=(0, 1))
    if fmt == "L":
        assert abs(mean[0] - 128) < 8 and abs(mean[1] - 128) < 8
    else:
        assert mean[0] > 150 and mean[2] < 80  # red stays red (BGR was reordered)


def test_odd_sizes_are_padded_even():
    frame = image_to_video_frame(bytes(33 * 21 * 3), (33, 21), "RGB")
    assert (frame.width, frame.height) == (34, 22)


@pytest.mark.parametrize(
    "image, size, fmt",
    [(bytes(10), (4, 4), "RGB"), (bytes(48), (4, 4), "YUV"), (bytes(0), (0, 4), "RGB")],
)
def test_bad_images_raise(image, size, fmt):
    with pytest.raises(ValueError):
        image_to_video_frame(image, size, fmt)


async def test_track_holds_last_image_and_paces():
    track = ImageVideoTrack(32, 16, framerate=50)
    first = await track.recv()
    assert (first.width, first.height) == (32, 16)
    track.set_frame(image_to_video_frame(bytes(8 * 8 * 3), (8, 8), "RGB"))
    frames = [await track.recv() for _ in range(3)]
    assert all((f.width, f.height) == (8, 8) for f in frames)
    assert [f.pts for f in frames] == [1800, 3600, 5400]
    track.stop()
