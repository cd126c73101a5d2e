"""Smoke test of the benchmark harness (``python -m bench --quick``): it runs, never a timing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bench.report import ROWS
from bench.run import SCENARIOS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

ROOT = Path(__file__).resolve().parent.parent
#: Log lines worth showing when the run fails (the processes' logs are long).
NOTABLE = re.compile(r"WARNING|ERROR|joined|left|offer|answer|Traceback")


def _log_excerpts(out: Path, lines: int = 120) -> str:
    """The notable tail of every process log of the run, for a failure message."""
    parts = []
    for log in sorted((out / "tmp").glob("*.log")):
        notable = [
            line for line in log.read_text(errors="replace").splitlines() if NOTABLE.search(line)
        ]
        parts.append(f"--- {log.name}\n" + "\n".join(notable[-lines:]))
    return "\n".join(parts)


def test_quick_benchmark_produces_every_scenario_for_this_project(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--impls",
            "ours",
            "--no-plots",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=140,
    )
    assert done.returncode == 0, done.stderr[-3000:] + _log_excerpts(out)
    results = json.loads((out / "results.json").read_text())
    assert set(results["scenarios"]) == set(SCENARIOS)
    for scenario, key, *_ in ROWS:
        entry = results["scenarios"][scenario]["ours"]
        assert "error" not in entry, f"{scenario}: {entry.get('error')}\n{_log_excerpts(out)}"
        value = entry["headline"][key]
        if key == "first_n_with_underruns":
            assert value is None or isinstance(value, int)
        elif key in (
            "cpu_per_call_at_8_pct",
            "cpu_per_call_at_16_pct",
            "server_cpu_per_stream_at_8_pct",
        ):
            continue  # the quick mode stops at 2 calls
        else:
            assert isinstance(value, (int, float)), f"{scenario}.{key} = {value!r}"
    assert (out / "table.md").read_text().count("\n") > len(SCENARIOS)
