"""``python -m pipecat_getstream.testing`` serves until told to stop, and stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_standalone_server_prints_its_environment_and_stops_on_signal(sig: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipecat_getstream.testing", "--api-key", "k", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        env = {}
        for line in proc.stdout:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                env[name] = value
            if line.startswith("# press"):
                break
        assert env["STREAM_API_KEY"] == "k"
        assert len(env["STREAM_API_SECRET"]) >= 16
        base_url = env["GETSTREAM_BASE_URL"]
        # It serves: an unauthenticated REST call gets GetStream's JSON error, not a refusal.
        answer = httpx.get(f"{base_url}/api/v2/video/call/default/x", params={"api_key": "k"})
        assert answer.status_code in (401, 403)
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0
        assert proc.stderr is not None
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
