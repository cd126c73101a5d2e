"""The reference package's virtual environments under ``.bench-venvs/`` (created on first use).

The reference ``pipecat-getstream`` has the same import name as this project, so it lives in
its own environment and its bots run in that environment's interpreter. Besides the pinned
release, the benchmark also measures the oldest release that matches the specification
(GetStream SDK >= 3.3.0, < 4; Pipecat >= 0.0.108; Python >= 3.10), which is 0.1.0.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import version as installed
from pathlib import Path

from bench.harness import ROOT

VENVS = ROOT / ".bench-venvs"
PINNED = "0.4.1"
OLDEST = "0.1.0"
#: Extra packages the bot process needs in a reference environment.
_BENCH_DEPS = ["numpy", "psutil"]
#: The aiortc-based SDK the participants and this project's bot run on (see ``aiortc_python``).
AIORTC_SDK = "6.1.1"


def find_uv() -> str | None:
    """The ``uv`` command: on ``PATH``, or where ``pip install --user uv`` puts it."""
    return shutil.which("uv") or shutil.which("uv", path=str(Path.home() / ".local" / "bin"))


def python_of(venv: Path) -> Path:
    """The interpreter of a virtual environment."""
    return venv / "bin" / "python"


def installed_version(venv: Path) -> str | None:
    """The ``pipecat-getstream`` version installed in ``venv``, or ``None``."""
    if not python_of(venv).exists():
        return None
    code = "from importlib.metadata import version; print(version('pipecat-getstream'))"
    done = subprocess.run([str(python_of(venv)), "-c", code], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def _create(venv: Path, what: str, packages: list[str], override: str | None = None) -> None:
    """Make ``venv`` (Python 3.11) and install ``packages`` (plus the bench's own) into it."""
    uv = find_uv()
    if uv is None:
        raise RuntimeError(f"uv is needed to create the benchmark's environment with {what}")
    VENVS.mkdir(exist_ok=True)
    (VENVS / ".gitignore").write_text("*\n")
    print(f"creating {venv} with {what} (first use only)", flush=True)
    subprocess.run([uv, "venv", "--quiet", "--python", "3.11", str(venv)], check=True)
    extra: list[str] = []
    if override is not None:
        (venv / "override.txt").write_text(override + "\n")
        extra = ["--override", str(venv / "override.txt")]
    install = [uv, "pip", "install", "--quiet", "--python", str(python_of(venv)), *extra]
    subprocess.run([*install, *packages, *_BENCH_DEPS], check=True)


def ensure(version: str, venv: Path | None = None) -> Path:
    """Create (once) a virtual environment with ``pipecat-getstream==version``.

    Args:
        version: The release to install.
        venv: Where; ``.bench-venvs/ref-<version>`` by default.

    Returns:
        The environment's interpreter.

    Raises:
        RuntimeError: If ``uv`` is missing or the installation fails.

    """
    venv = venv or VENVS / f"ref-{version}"
    if installed_version(venv) == version:
        return python_of(venv)
    _create(venv, f"pipecat-getstream=={version}", [f"pipecat-getstream=={version}"])
    if installed_version(venv) != version:
        raise RuntimeError(f"installing pipecat-getstream=={version} into {venv} failed")
    return python_of(venv)


def aiortc_python() -> str:
    """An interpreter with this project on the aiortc-based GetStream SDK (< 7).

    The benchmark's simulated participants and its probes of the bot's SDK track read the
    aiortc media path, so they run on SDK 3.x-6.x: this interpreter when its SDK is older
    than 7, else ``.bench-venvs/ours-sdk<AIORTC_SDK>`` (created on first use, with this
    project installed editable and the SDK pinned there only).

    Raises:
        RuntimeError: If ``uv`` is missing or the installation fails.

    """
    if int(installed("getstream").split(".")[0]) < 7:
        return sys.executable
    venv = VENVS / f"ours-sdk{AIORTC_SDK}"
    marker = venv / ".bench-ready"
    if not (python_of(venv).exists() and marker.exists()):
        pin = f"getstream[webrtc]=={AIORTC_SDK}"
        _create(venv, pin, ["-e", str(ROOT)], override=pin)
        marker.write_text("ok\n")
    return str(python_of(venv))


def rust_python() -> str:
    """An interpreter with this project on GetStream SDK 7.x (this one, which must have it).

    Raises:
        RuntimeError: When this interpreter's SDK is older than 7.

    """
    if int(installed("getstream").split(".")[0]) < 7:
        raise RuntimeError("ours-sdk7 needs SDK 7.x here: run the benchmark from the locked env")
    return sys.executable


def sdk_of(stack: str) -> str:
    """The GetStream SDK version the ``"aiortc"`` or ``"rust"`` bench bot runs on."""
    python = aiortc_python() if stack == "aiortc" else rust_python()
    code = "from importlib.metadata import version; print(version('getstream'))"
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()
