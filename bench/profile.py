"""Profile the bot process while N calls stream speech: where the CPU and the stalls go.

``uv run python -m bench.profile [--impl ours|reference] [--calls 4] [--secs 20]`` runs the
pacing window of :mod:`bench.scen_pacing` with py-spy (from PyPI, run through ``uvx`` when it
is not installed) sampling the bot process, and prints the busiest functions and packages.
The raw samples are kept under ``bench/results/tmp/`` for a flame graph.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from bench import venvs
from bench.harness import ROOT, Ctx, Impl
from bench.run import MODES
from bench.scen_pacing import add_calls, stream_window

AREAS = (
    ("pipecat_getstream/testing", "local server"),
    ("pipecat_getstream", "transport under test"),
    ("bench/", "benchmark probes"),
    ("pipecat/", "pipecat"),
    ("getstream/", "getstream SDK"),
    ("aiortc/", "aiortc"),
    ("aioice/", "aioice"),
    ("av/", "PyAV"),
    ("asyncio/", "asyncio"),
)


def pyspy() -> list[str]:
    """The command that runs py-spy."""
    found = shutil.which("py-spy")
    if found:
        return [found]
    uvx = shutil.which("uvx")
    if uvx is None:
        raise RuntimeError("install py-spy (pip install py-spy) or uv")
    return [uvx, "py-spy"]


def area(frame: str) -> str:
    for needle, name in AREAS:
        if needle in frame:
            return name
    return "other"


def summarize(raw: Path, top: int = 25) -> dict[str, Any]:
    """Self time by function and by package, and inclusive time of transport functions."""
    leaf: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        leaf[frames[-1]] += n
        areas[area(frames[-1])] += n
        for frame in set(frames):
            if "pipecat_getstream" in frame and "testing" not in frame:
                inclusive[frame] += n
    pct = 100 / max(1, total)
    return {
        "samples": total,
        "self_by_area_pct": {k: round(v * pct, 1) for k, v in areas.most_common()},
        "self_top_pct": [[round(v * pct, 1), k] for k, v in leaf.most_common(top)],
        "transport_inclusive_pct": [[round(v * pct, 1), k] for k, v in inclusive.most_common(top)],
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    if args.impl == "ours":
        impl = Impl("ours", "ours", venvs.aiortc_python(), "this project")
    else:
        impl = Impl("reference", "reference", str(venvs.ensure(venvs.PINNED)), venvs.PINNED)
    settings = dict(MODES["default"], slow_callbacks=True)
    log_dir = ROOT / "bench" / "results" / "tmp"
    out: dict[str, Any] = {}
    async with Ctx(impl, settings, log_dir) as ctx:
        await add_calls(ctx, 0, args.calls)
        await asyncio.sleep(2.0)
        assert ctx.server is not None
        pids = {"bot": ctx.B.pid, "peers": ctx.P.pid, "server": ctx.server.pid}
        target_pid = pids[args.process]
        runs = []
        for gil in (False, True):
            tag = "" if args.process == "bot" else f"-{args.process}"
            raw = log_dir / f"pyspy-{impl.name}{tag}-{args.calls}calls{'-gil' if gil else ''}.txt"
            cmd = [
                *pyspy(),
                "record",
                "--pid",
                str(target_pid),
                "--duration",
                str(int(args.secs)),
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(raw),
                "--nonblocking",
            ]
            if gil:
                cmd.append("--gil")
            spy = await asyncio.create_subprocess_exec(
                *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            window = await stream_window(ctx, args.calls, args.secs - 2.5)
            await spy.wait()
            runs.append((gil, raw, window))
        for gil, raw, window in runs:
            key = "gil_holder" if gil else "all_threads"
            out[key] = summarize(raw) if raw.exists() else {"error": "py-spy produced nothing"}
            out[key]["window"] = {
                k: window[k]
                for k in (
                    "underruns",
                    "bot_side_underruns",
                    "cpu_bot_pct",
                    "cpu_per_call_pct",
                    "cpu_peers_pct",
                    "cpu_server_pct",
                    "cpu_machine_pct",
                    "peers_lag_max_ms",
                    "calls_heard_nothing",
                    "loop_lag",
                    "stall_stacks",
                    "gc_pauses",
                    "slow_callbacks",
                )
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--impl", choices=("ours", "reference"), default="ours")
    parser.add_argument(
        "--process",
        choices=("bot", "peers", "server"),
        default="bot",
        help="which process to sample: the bots, the simulated participants or the server",
    )
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--secs", type=float, default=20.0)
    parser.add_argument("--json", type=Path, default=None, help="also write the summary here")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
