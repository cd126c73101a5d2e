"""Video frame selection: captures, video_in_sources, rates and image requests (fake clock)."""

from __future__ import annotations

from types import SimpleNamespace

from pipecat_getstream.media.video_in import MAX_PENDING_REQUESTS, VideoCaptures


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def passed(captures: VideoCaptures, clock: Clock, user: str, source: str, fps: int, secs: float):
    count = 0
    for _ in range(int(fps * secs)):
        clock.now += 1 / fps
        count += captures.sample(user, source)[0]
    return count


def test_by_default_every_camera_frame_passes_and_no_screen_share():
    clock = Clock()
    captures = VideoCaptures(clock=clock)
    assert passed(captures, clock, "a", "camera", 30, 1.0) == 30
    assert passed(captures, clock, "a", "screenVideo", 30, 1.0) == 0


def test_explicit_capture_limits_the_rate_and_excludes_the_others():
    clock = Clock()
    captures = VideoCaptures(clock=clock)
    assert passed(captures, clock, "b", "camera", 30, 0.5) == 15  # everyone, at first
    captures.capture("a", "camera", 10)
    assert 9 <= passed(captures, clock, "a", "camera", 30, 1.0) <= 11
    assert passed(captures, clock, "b", "camera", 30, 1.0) == 0


def test_half_the_source_rate_gives_half_despite_jitter():
    clock = Clock()
    captures = VideoCaptures(clock=clock)
    captures.capture("a", "camera", 15)
    count = 0
    for i in range(60):  # two seconds at 30 fps, each frame up to 5 ms early or late
        clock.now += 1 / 30 + (0.005 if i % 2 else -0.005)
        count += captures.sample("a", "camera")[0]
    assert 28 <= count <= 31


def test_video_in_sources_apply_to_everyone_each_at_its_rate():
    clock = Clock()
    sources = {
        "camera": SimpleNamespace(framerate=5, on_request_only=False),
        "screenVideo": SimpleNamespace(framerate=30, on_request_only=False),
    }
    captures = VideoCaptures(sources, clock=clock)
    assert 4 <= passed(captures, clock, "a", "camera", 30, 1.0) <= 6
    assert passed(captures, clock, "z", "screenVideo", 30, 1.0) == 30


def test_requests_are_answered_by_the_next_frame_of_that_source():
    clock = Clock()
    sources = {"camera": SimpleNamespace(framerate=30, on_request_only=True)}
    captures = VideoCaptures(sources, clock=clock)
    assert passed(captures, clock, "a", "camera", 30, 1.0) == 0
    request = object()
    assert captures.add_request("a", "camera", request) == []
    assert captures.sample("b", "camera") == (False, None)  # someone else's frame
    assert captures.sample("a", "camera") == (True, request)
    assert captures.sample("a", "camera") == (False, None)


def test_a_request_answers_even_an_uncaptured_screen_share():
    clock = Clock()
    captures = VideoCaptures(clock=clock)
    request = object()
    captures.add_request("a", "screenVideo", request)
    assert captures.sample("a", "screenVideo") == (True, request)


def test_pending_requests_are_bounded_and_returned_on_leave():
    captures = VideoCaptures()
    requests = [object() for _ in range(MAX_PENDING_REQUESTS + 2)]
    dropped = []
    for request in requests:
        dropped += captures.add_request("a", "camera", request)
    assert dropped == requests[:2]
    assert captures.forget("a") == requests[2:]
    assert captures.forget("a") == []


def test_take_requests_of_one_source_and_clear():
    captures = VideoCaptures()
    cam, screen = object(), object()
    captures.add_request("a", "camera", cam)
    captures.add_request("a", "screenVideo", screen)
    assert captures.take_requests("a", "screenVideo") == [screen]
    assert captures.clear() == [cam]


def test_sources_given_as_dicts_mean_what_pipecats_model_means() -> None:
    # Pipecat 0.0.108 has no VideoInSourceParams: there video_in_sources holds plain dicts.
    captures = VideoCaptures({"camera": {"on_request_only": True}, "screenVideo": {}})
    assert captures.sample("alice", "camera") == (False, None)  # only when asked
    assert captures.sample("alice", "screenVideo")[0] is True  # every frame
