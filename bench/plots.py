"""PNG plots of a benchmark run (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"ours": "tab:blue", "reference": "tab:orange", "reference-oldest": "tab:gray"}


def _label(results: dict[str, Any], impl: str) -> str:
    version = results.get("impls", {}).get(impl, "")
    return "this project" if impl == "ours" else f"reference {version}"


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def latency(results: dict[str, Any], out: Path) -> None:
    rows = [
        ("latency", "input_net_ms", "input, net"),
        ("latency", "output_net_ms", "output, net"),
        ("interruption", "interrupt_net_median_ms", "interruption, net (median)"),
        ("interruption", "interrupt_net_max_ms", "interruption, net (max)"),
    ]
    impls = [i for i in COLOURS if i in results.get("impls", {})]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(1, len(impls))
    for k, impl in enumerate(impls):
        values = []
        for scenario, key, _ in rows:
            entry = results["scenarios"].get(scenario, {}).get(impl, {})
            value = entry.get("headline", {}).get(key)
            values.append(value if isinstance(value, (int, float)) else 0)
        xs = [j + k * width for j in range(len(rows))]
        ax.bar(xs, values, width, label=_label(results, impl), color=COLOURS[impl])
    ax.set_xticks([j + width * (len(impls) - 1) / 2 for j in range(len(rows))])
    ax.set_xticklabels([r[2] for r in rows], fontsize=8)
    ax.set_ylabel("ms (net of the local server's path)")
    ax.set_title("Latency and interruption")
    ax.legend(fontsize=8)
    _save(fig, out / "latency.png")


def pacing(results: dict[str, Any], out: Path) -> None:
    entries = results["scenarios"].get("pacing", {})
    fig, ax = plt.subplots(figsize=(8, 4))
    for impl, entry in entries.items():
        series = entry.get("details", {}).get("series") or []
        if series:
            ax.plot(
                [p[0] for p in series],
                [p[1] for p in series],
                label=_label(results, impl),
                color=COLOURS.get(impl),
            )
    calls = next((e.get("details", {}).get("calls") for e in entries.values()), "?")
    ax.set_xlabel("seconds since the first speech arrived")
    ax.set_ylabel("lag of speech behind wall time (ms)")
    ax.set_title(f"Pacing: one of {calls} concurrent calls (gaps show as steps)")
    ax.legend(fontsize=8)
    _save(fig, out / "pacing.png")


def scale(results: dict[str, Any], out: Path) -> None:
    entries = results["scenarios"].get("scale", {})
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    for impl, entry in entries.items():
        steps = [s for s in entry.get("details", {}).get("steps", []) if "error" not in s]
        n = [s["calls"] for s in steps]
        style = {"label": _label(results, impl), "color": COLOURS.get(impl), "marker": "o"}
        axes[0].plot(n, [s["cpu_per_call_pct"] for s in steps], **style)
        axes[1].plot(n, [s["underruns"] + s["bot_side_underruns"] for s in steps], **style)
        axes[2].plot(n, [s["loop_lag"]["max_ms"] for s in steps], **style)
    for ax, title in zip(
        axes,
        (
            "bot CPU per call (% of a core)",
            "underruns (heard + at bot)",
            "event-loop lag, max (ms)",
        ),
        strict=True,
    ):
        ax.set_xlabel("concurrent calls in one bot process")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    _save(fig, out / "scale.png")


def memory(results: dict[str, Any], out: Path) -> None:
    entries = results["scenarios"].get("memory", {})
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for impl, entry in entries.items():
        series = entry.get("details", {}).get("series") or []
        ax.plot(
            [p[0] / 60 for p in series],
            [p[1] for p in series],
            label=_label(results, impl),
            color=COLOURS.get(impl),
        )
    ax.set_xlabel("minutes")
    ax.set_ylabel("bot process RSS (MB)")
    ax.set_title("Memory over one call")
    ax.legend(fontsize=8)
    _save(fig, out / "memory.png")


def draw_all(results: dict[str, Any], out: Path) -> None:
    """Draw every plot whose scenario is in ``results``."""
    scenarios = results.get("scenarios", {})
    if "latency" in scenarios or "interruption" in scenarios:
        latency(results, out)
    if "pacing" in scenarios:
        pacing(results, out)
    if "scale" in scenarios:
        scale(results, out)
    if "memory" in scenarios:
        memory(results, out)
