"""What the package's pytest plugin adds to a user's test run.

pytest loads the plugin (entry point ``pytest11``) in every run of a project that has
``pipecat-getstream`` installed, whether or not a test uses its fixtures. This benchmark
writes a one-test suite into a temporary directory (its own ``pytest.ini``, so no
configuration of this project applies) and times whole ``python -m pytest`` runs with the
plugin and with ``-p no:pipecat_getstream``, interleaved, several times each. It prints the
medians of each (wall time, and the CPU time of the pytest process, which other work on a
shared machine disturbs less) and the medians of the paired differences: the milliseconds
the plugin adds (target: under 50 of wall time).

As in a user's installed environment, the runs use compiled bytecode: the children write it
under the temporary directory (``PYTHONPYCACHEPREFIX``), never into the project or the venv,
and a warm-up run of each configuration fills it before the timed runs.

Run it with ``uv run python -m bench.plugin_overhead [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The ``-p`` option that keeps pytest from loading the plugin.
WITHOUT_PLUGIN = ("-p", "no:pipecat_getstream")
#: The target of issue 16: what a one-line suite may pay for the plugin.
TARGET_MS = 50.0

_SUITE = {
    "pytest.ini": "[pytest]\n",
    "test_one.py": "def test_one():\n    assert 1 + 1 == 2\n",
}


def write_suite(folder: Path) -> None:
    """Write the one-test suite (and its empty ``pytest.ini``) into ``folder``."""
    for name, text in _SUITE.items():
        (folder / name).write_text(text)


def pytest_command(*extra: str) -> list[str]:
    """The pytest command line of one run (no cache, quiet, this interpreter)."""
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]


def child_environment(folder: Path) -> dict[str, str]:
    """This process's environment, with bytecode written under ``folder``."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    return env


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(folder: Path, *extra: str) -> tuple[float, float]:
    """Run pytest once in ``folder``.

    Returns:
        The run's wall time and the CPU time (user and system) of its process, both in
        milliseconds.

    Raises:
        RuntimeError: If the run does not pass.

    """
    cpu_before = _children_cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run(
        pytest_command(*extra),
        cwd=folder,
        capture_output=True,
        text=True,
        env=child_environment(folder),
    )
    wall = (time.perf_counter() - started) * 1000
    cpu = (_children_cpu_seconds() - cpu_before) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"pytest {' '.join(extra)} failed:\n{done.stdout}\n{done.stderr}")
    return wall, cpu


def check_plugin_switch(folder: Path) -> None:
    """Make sure the two configurations differ: the plugin's fixtures exist only with it.

    Raises:
        RuntimeError: If the plugin is not loaded by default, or still loaded with ``-p no:``.

    """
    for extra, expected in (((), True), (WITHOUT_PLUGIN, False)):
        listing = subprocess.run(
            pytest_command("--fixtures", *extra),
            cwd=folder,
            capture_output=True,
            text=True,
            env=child_environment(folder),
        ).stdout
        if ("getstream_server" in listing) != expected:
            state = "missing" if expected else "still loaded"
            raise RuntimeError(f"the plugin is {state} with options {extra or '(none)'}")


def measure(runs: int) -> dict[str, dict[str, float]]:
    """Time ``runs`` interleaved pairs of runs (after one warm-up pair).

    Returns:
        For ``"wall"`` and ``"cpu"``: medians in milliseconds of the runs ``"with"`` and
        ``"without"`` the plugin, and ``"added"``, the median of the paired differences.

    """
    with tempfile.TemporaryDirectory(prefix="plugin-overhead-") as tmp:
        folder = Path(tmp)
        write_suite(folder)
        check_plugin_switch(folder)
        timed_run(folder)
        timed_run(folder, *WITHOUT_PLUGIN)
        with_plugin: list[tuple[float, float]] = []
        without_plugin: list[tuple[float, float]] = []
        for index in range(runs):
            # Alternate which goes first, so a slow moment of the machine hits both alike.
            order = (True, False) if index % 2 == 0 else (False, True)
            for plugin_on in order:
                if plugin_on:
                    with_plugin.append(timed_run(folder))
                else:
                    without_plugin.append(timed_run(folder, *WITHOUT_PLUGIN))
    figures = {}
    for column, clock in enumerate(("wall", "cpu")):
        loaded = [run[column] for run in with_plugin]
        bare = [run[column] for run in without_plugin]
        figures[clock] = {
            "with": statistics.median(loaded),
            "without": statistics.median(bare),
            "added": statistics.median(a - b for a, b in zip(loaded, bare, strict=True)),
        }
    return figures


def main(argv: list[str] | None = None) -> int:
    """Measure and print the plugin's overhead; exit status 1 when it misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="pairs of runs (default 15)")
    args = parser.parse_args(argv)
    runs = max(1, args.runs)
    figures = measure(runs)
    print(f"one-line pytest suite, {runs} interleaved runs of each, medians in ms")
    print(f"{'':32}{'wall':>10}{'cpu':>10}")
    for key, label in (
        ("with", "with the plugin"),
        ("without", "with -p no:pipecat_getstream"),
        ("added", "added by the plugin (paired)"),
    ):
        print(f"  {label:30}{figures['wall'][key]:10.1f}{figures['cpu'][key]:10.1f}")
    added = figures["wall"]["added"]
    verdict = "met" if added < TARGET_MS else "missed"
    print(f"target: < {TARGET_MS:.0f} ms added wall time: {verdict}")
    return 0 if added < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
