"""The reference package's virtual environments under ``.bench-venvs/`` (created on first use).

The reference ``pipecat-getstream`` has the same import name as this project, so it lives in
its own environment and its bots run in that environment's interpreter. Besides the pinned
release, the benchmark also measures the oldest release that matches the specification
(GetStream SDK >= 3.3.0, < 4; Pipecat >= 0.0.108; Python >= 3.10), which is 0.1.0.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bench.harness import ROOT

VENVS = ROOT / ".bench-venvs"
PINNED = "0.4.1"
OLDEST = "0.1.0"
#: Extra packages the bot process needs in a reference environment.
_BENCH_DEPS = ["numpy", "psutil"]


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
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("uv is needed to create the reference environment")
    VENVS.mkdir(exist_ok=True)
    (VENVS / ".gitignore").write_text("*\n")
    print(f"creating {venv} with pipecat-getstream=={version} (first use only)", flush=True)
    subprocess.run([uv, "venv", "--quiet", "--python", "3.11", str(venv)], check=True)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python_of(venv)),
            f"pipecat-getstream=={version}",
            *_BENCH_DEPS,
        ],
        check=True,
    )
    if installed_version(venv) != version:
        raise RuntimeError(f"installing pipecat-getstream=={version} into {venv} failed")
    return python_of(venv)
