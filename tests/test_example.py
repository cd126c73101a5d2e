"""``example.py``: the offline demo runs end to end and its report holds up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CLOUD_KEYS = ("STREAM_API_KEY", "STREAM_API_SECRET", "DEEPGRAM_API_KEY", "GOOGLE_API_KEY")


def run_example(*args: str, env: dict[str, str] | None = None, timeout: float = 170):
    # Empty credentials: the offline default, whatever the shell or a .env file holds.
    full_env = {**os.environ, **{key: "" for key in CLOUD_KEYS}, **(env or {})}
    return subprocess.run(
        [sys.executable, "example.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16), wav.getframerate()


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_offline_example_converses_and_reports(tmp_path: Path) -> None:
    proc = run_example("--out", str(tmp_path))
    output = f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    assert proc.returncode == 0, output
    assert "Offline conversation report" in proc.stdout, output

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ok"] and report["problems"] == [], report
    assert report["runtime_s"] < 90

    assert 0 < report["join"]["bot_s"] < 15
    assert 0 < report["join"]["participant_s"] < 15

    turns = report["turns"]
    assert turns["spoken"] == 3
    assert turns["heard"] >= 1 and turns["answered"] >= 1
    assert turns["bot_replies_heard"] >= 1

    interruption = report["interruption"]
    assert interruption["detected"] is True
    assert interruption["count"] >= 1
    assert 0 < interruption["silence_after_s"] < 2.0
    assert 0 < interruption["bot_reaction_s"] < 2.0

    events = report["custom_events"]
    assert {"listening", "thinking", "speaking"} <= set(events["states_seen"])
    assert events["seen_by_bot"] >= 1

    files = {name: tmp_path / rel for name, rel in report["files"].items()}
    heard, rate = read_wav(files["heard_wav"])
    n = rate // 50  # 20 ms windows
    windows = heard[: len(heard) // n * n].reshape(-1, n).astype(np.float64)
    speech = np.sqrt((windows**2).mean(axis=1)) > 300
    assert speech.mean() > 0.1, "the recording holds (almost) no speech from the bot"
    conversation = read_wav(files["conversation_wav"])[0].reshape(-1, 2)
    assert np.abs(conversation[:, 0]).max() > 1000 and np.abs(conversation[:, 1]).max() > 1000
    png = files["timeline_png"].read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_help() -> None:
    proc = run_example("--help", timeout=60)
    assert proc.returncode == 0
    assert "--serve" in proc.stdout and "--out" in proc.stdout


def test_partial_credentials_name_the_missing_key() -> None:
    proc = run_example(env={"STREAM_API_KEY": "key", "DEEPGRAM_API_KEY": "dg"}, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "STREAM_API_SECRET is not set" in lines[0], proc.stderr
