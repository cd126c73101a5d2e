"""SDK generations in one call: a 3.x-6.x (aiortc) and a 7.x (Rust) participant.

One environment holds one SDK, so the other generation's participant runs in its
own process (``peer.py``) from a second environment holding this project and the other
SDK: the project's own one where it exists (``.ci-venvs/sdk6`` beside the 7.x ``.venv``,
and the other way round), else one this module builds with ``uv`` under ``.ci-venvs/``
(reused while its marker file names the same requirement). Without ``uv`` or the
package registry the test is skipped.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pipecat_getstream.testing import LocalStreamServer

from .peer_process import ROOT, run_peer
from .sdk_kit import SDK7, SdkKit, dominant_frequency, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(420)]

OTHER = "getstream[webrtc]>=6,<7" if SDK7 else "getstream[webrtc]>=7,<8"
VENV = ROOT / ".ci-venvs" / ("peer-getstream6" if SDK7 else "peer-getstream7")
#: The project's own environment of the other SDK generation, used when present.
PROJECT_ENV = ROOT / (".ci-venvs/sdk6" if SDK7 else ".venv")
BUILD_TIMEOUT_S = 300


def _uv() -> str | None:
    found = shutil.which("uv")
    local = Path.home() / ".local" / "bin" / "uv"
    return found or (str(local) if local.exists() else None)


def _build(uv: str) -> str:
    """Make (or reuse) the venv holding the other SDK generation; return its Python."""
    python = VENV / "bin" / "python"
    marker = VENV / ".peer-ready"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / f"{VENV.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # other test runs may build it at the same time
        if marker.exists() and marker.read_text() == f"{OTHER} + project" and python.exists():
            return str(python)
        shutil.rmtree(VENV, ignore_errors=True)
        interpreter = f"{sys.version_info.major}.{sys.version_info.minor}"
        for cmd in (
            [uv, "venv", "--quiet", "--python", interpreter, str(VENV)],
            [uv, "pip", "install", "--quiet", "--python", str(python), "-e", str(ROOT), OTHER],
        ):
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd[:3])} failed: {done.stderr.strip()[-400:]}")
        marker.write_text(f"{OTHER} + project")
    return str(python)


@pytest.fixture(scope="module")
def other_sdk_python() -> Iterator[str]:
    """The Python of a venv holding the other SDK generation (skips if it cannot be built)."""
    own = PROJECT_ENV / "bin" / "python"
    if own.exists():
        yield str(own)
        return
    uv = _uv()
    if uv is None:
        pytest.skip(f"no uv on this machine to build a venv with {OTHER}")
    try:
        python = _build(uv)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot build a venv with {OTHER} (registry unreachable?): {exc}")
    version = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('getstream'))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    print(f"\n[cross-sdk] peer venv {VENV.name}: getstream {version.stdout.strip()}")
    yield python


async def test_6x_and_7x_participants_hear_and_see_each_other(
    local_server: LocalStreamServer, other_sdk_python: str, tmp_path: Path
) -> None:
    server = local_server
    call_id = f"cross-{uuid.uuid4().hex[:8]}"
    here = SdkKit(server).participant(call_id, "here")
    # Video both ways: 3.x-6.x publish H.264 (the 7.x core decodes it), 7.x publishes
    # VP8 here (aiortc decodes VP8, not the VP9 of 7.x's add_tracks).
    args = [
        f"--base-url={server.base_url}",
        f"--ws-url={server.coordinator_ws_url}",
        f"--api-key={server.api_key}",
        f"--api-secret={server.api_secret}",  # with "=": a value may start with "-"
        *("--call-id", call_id, "--user-id", "there", "--peer", "here", "--tone", "660"),
        "--want-video",
        *("--seconds", "20"),
    ]
    async with run_peer(other_sdk_python, args, tmp_path / "peer.log") as peer, here:
        out = await here.publish_audio()
        await out.write_silence(0.3)
        codec = "vp8" if SDK7 else "h264"
        await here.publish_video(codec, 320, 240)
        ready = await peer.next_event(timeout=120)  # a cold import can be slow
        assert ready["event"] == "ready", ready
        await out.write_tone(440, 25.0)
        t0 = time.perf_counter()
        heard = await wait_for(lambda: len(here.audio.loud_since(t0, "there")) >= 60, 20)
        result = await peer.next_event(timeout=30)
        await wait_for(lambda: len(here.video_from("there")) >= 10, timeout=10)
        loud = here.audio.loud_since(t0, "there")
        seen = here.video_from("there")
        await peer.tell_to_leave()  # the peer keeps publishing until told
    print(
        f"[cross-sdk] here {here.generation} ({len(loud)} loud frames, {len(seen)} video frames);"
        f" there {ready['generation']} {result['sdk']}: {result}"
    )
    assert ready["generation"] != here.generation
    # Audio both ways, attributed to its publisher, at the tone's frequency.
    assert heard and here.audio.owners() == {"there"}
    freq = dominant_frequency(np.concatenate([s for _, s in loud[10:60]]), here.audio.rate)
    assert abs(freq - 660) <= 10, f"here heard {freq:.1f} Hz"
    assert result["loud_frames"] >= 60 and result["audio_owners"] == ["here"]
    assert abs(result["freq"] - 440) <= 10, result
    # Video both ways, at the published size.
    assert result["video_frames"] >= 10 and result["video_sizes"] == ["320x240"], result
    assert len(seen) >= 10 and {(w, h) for _, w, h in seen} == {(320, 240)}
    assert peer.returncode == 0
    assert await wait_for(lambda: server.participants("default", call_id) == [], timeout=3)
