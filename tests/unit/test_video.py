import numpy as np
import pytest

from pipecat_getstream.media.video import image_to_video_frame, video_frame_to_rgb


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


def test_an_image_without_a_format_is_read_by_its_byte_count() -> None:
    # Pipecat 0.0.108 resizes images and loses their format (PIL's ``format`` is None).
    rgba = np.zeros((48, 64, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    frame = image_to_video_frame(rgba.tobytes(), (64, 48), None)
    assert (frame.width, frame.height) == (64, 48)
    red = frame.to_ndarray(format="rgb24")[24, 32]
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    gray = image_to_video_frame(bytes([200]) * (64 * 48), (64, 48), None)
    assert gray.to_ndarray(format="rgb24")[0, 0][0] > 180
    with pytest.raises(ValueError, match="does not match"):
        image_to_video_frame(bytes(10), (64, 48), None)
