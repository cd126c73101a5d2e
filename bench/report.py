"""The benchmark's outputs: ``results.json``, ``table.md`` and PNG plots."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

IMPLS = ("ours-sdk7", "ours", "reference", "reference-oldest")


def _half_of_ref(ours: float, ref: float | None) -> bool | None:
    return None if ref is None else ours <= ref / 2


#: (scenario, key, label, target text, check(ours, reference) -> pass?)
ROWS: list[tuple[str, str, str, str, Callable[[float, float | None], bool | None] | None]] = [
    ("latency", "server_path_ms", "server path, participant → participant (ms)", "", None),
    ("server", "server_path_ms", "server alone: path, participant → participant (ms)", "", None),
    (
        "server",
        "server_cpu_per_stream_at_8_pct",
        "server alone: CPU per forwarded stream at 8 two-way calls (% of a core)",
        "",
        None,
    ),
    (
        "server",
        "largest_clean_two_way_calls",
        "server alone: most two-way calls with no gap heard",
        "",
        None,
    ),
    (
        "latency",
        "input_net_ms",
        "input: participant → UserAudioRawFrame, net (ms)",
        "≤ 5",
        lambda o, r: o <= 5,
    ),
    ("latency", "input_e2e_ms", "input: participant's track → UserAudioRawFrame (ms)", "", None),
    ("latency", "output_net_ms", "output: OutputAudioRawFrame → participant, net (ms)", "", None),
    ("latency", "output_e2e_ms", "output: OutputAudioRawFrame → participant heard (ms)", "", None),
    (
        "interruption",
        "interrupt_net_median_ms",
        "interruption → silence, net, median (ms)",
        "≤ 20",
        lambda o, r: o <= 20,
    ),
    ("interruption", "interrupt_net_max_ms", "interruption → silence, net, max (ms)", "", None),
    (
        "interruption",
        "interrupt_net_of_say_path_median_ms",
        "interruption → silence, net of the bot's say path, median (ms; every SDK stack)",
        "≤ 20",
        lambda o, r: o <= 20,
    ),
    (
        "interruption",
        "interrupt_at_track_median_ms",
        "interruption → last speech leaves bot track (ms)",
        "",
        None,
    ),
    ("pacing", "pacing_calls", "pacing: concurrent calls", "16", None),
    ("pacing", "pacing_underruns", "pacing: underruns heard (all calls)", "0", lambda o, r: o == 0),
    (
        "pacing",
        "pacing_bot_side_underruns",
        "pacing: starved-frame runs at bot tracks",
        "0",
        lambda o, r: o == 0,
    ),
    (
        "pacing",
        "pacing_drift_max_ms",
        "pacing: drift, worst call (ms)",
        "≤ 20",
        lambda o, r: abs(o) <= 20,
    ),
    (
        "pacing",
        "pacing_loop_lag_max_ms",
        "pacing: event-loop lag, max (ms)",
        "≤ 50",
        lambda o, r: o <= 50,
    ),
    ("scale", "largest_clean_n", "scale: most calls without underruns", "", None),
    ("scale", "largest_bot_clean_n", "scale: most calls without starving a bot track", "", None),
    ("scale", "first_n_with_underruns", "scale: first N with underruns", "", None),
    ("scale", "cpu_one_call_pct", "CPU, one call (% of a core)", "≤ ½ ref", _half_of_ref),
    (
        "scale",
        "cpu_per_call_at_8_pct",
        "CPU per call at 8 calls (% of a core)",
        "≤ ½ ref",
        _half_of_ref,
    ),
    ("scale", "cpu_per_call_at_16_pct", "CPU per call at 16 calls (% of a core)", "", None),
    (
        "scale",
        "scale_loop_lag_max_ms",
        "scale: event-loop lag, max over steps (ms)",
        "≤ 50",
        lambda o, r: o <= 50,
    ),
    ("memory", "rss_after_warmup_mb", "RSS after warm-up (MB)", "", None),
    ("memory", "rss_end_mb", "RSS at the end (MB)", "", None),
    ("memory", "rss_growth_mb_per_hour", "RSS growth, 2nd half (MB/h)", "flat", None),
    ("joinleave", "join_one_s", "start → on_connected, one call (s)", "", None),
    (
        "joinleave",
        "join_together_max_s",
        "start → on_connected, calls joining together (s)",
        "",
        None,
    ),
    ("joinleave", "leave_one_s", "EndFrame → gone, one call (s)", "", None),
    (
        "joinleave",
        "leave_together_s",
        "EndFrame → gone, calls ending together (s)",
        "≤ 3",
        lambda o, r: o <= 3,
    ),
    (
        "joinleave",
        "leave_loop_lag_max_ms",
        "event-loop lag while they leave, max (ms)",
        "≤ 50",
        lambda o, r: o <= 50,
    ),
    (
        "joinleave",
        "leave_witness_underruns",
        "underruns in another call during leave",
        "0",
        lambda o, r: o == 0,
    ),
]


def machine() -> dict[str, Any]:
    """What the run ran on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "project_source": _source_state(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def _source_state() -> str:
    """The commit of this project and a hash of uncommitted changes to ``src/``."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "diff", "HEAD", "--", "src"], cwd=root, capture_output=True, timeout=10
        ).stdout
        untracked = subprocess.run(
            ["git", "ls-files", "--others", "--exclude-standard", "src"],
            cwd=root,
            capture_output=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not diff and not untracked:
        return head
    digest = hashlib.sha1(diff + untracked).hexdigest()[:8]
    return f"{head}+uncommitted:{digest}"


def _value(results: dict[str, Any], scenario: str, impl: str, key: str) -> Any:
    entry = results["scenarios"].get(scenario, {}).get(impl)
    if entry is None:
        return None
    if "error" in entry and not entry.get("headline"):
        return "error"
    return entry.get("headline", {}).get(key)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return (
            f"{value:.3g}"
            if abs(value) < 10
            else f"{value:.0f}"
            if abs(value) >= 100
            else f"{value:.1f}"
        )
    return str(value)


def _ratio(ours: Any, ref: Any, label: str) -> str:
    numeric = isinstance(ours, (int, float)) and isinstance(ref, (int, float))
    # A ratio of figures near zero (or of signed ones) says nothing.
    meaningful = numeric and ours >= 0 and ref > 0 and not ("(ms)" in label and ref < 1)
    return f"{ours / ref:.2f}" if meaningful else "–"


def table(results: dict[str, Any]) -> str:
    """A markdown table: each figure for this project, the reference, the ratio and the target."""
    impls = [i for i in IMPLS if i in results.get("impls", {})]
    names = {
        "ours-sdk7": f"this project, SDK {results['impls'].get('ours-sdk7', '')}",
        "ours": f"this project, SDK {results['impls'].get('ours', '')}",
        "reference": f"reference {results['impls'].get('reference', '')}",
        "reference-oldest": f"reference {results['impls'].get('reference-oldest', '')}",
    }
    with7 = "ours-sdk7" in impls
    ratios = ["ratio (7.x / ref)"] if with7 else []
    head = ["figure", "target", *(names[i] for i in impls), *ratios, "ratio (ours / ref)", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for scenario, key, label, target, check in ROWS:
        if scenario not in results["scenarios"]:
            continue
        values = {i: _value(results, scenario, i, key) for i in impls}
        ours, ref = values.get("ours"), values.get("reference")
        extra = [_ratio(values.get("ours-sdk7"), ref, label)] if with7 else []
        ratio = _ratio(ours, ref, label)
        # The target is judged on the newest stack measured.
        judged = values.get("ours-sdk7") if with7 else ours
        met = ""
        if check is not None and isinstance(judged, (int, float)):
            ok = check(judged, ref if isinstance(ref, (int, float)) else None)
            met = "" if ok is None else "✅" if ok else "❌"
        cells = [label, target, *(_fmt(values[i]) for i in impls), *extra, ratio, met]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(results: dict[str, Any], out: Path, plots: bool = True) -> None:
    """Write ``results.json`` and ``table.md`` (and the plots) to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    (out / "table.md").write_text(table(results) + "\n")
    if plots:
        from bench import plots as plotting

        plotting.draw_all(results, out)
