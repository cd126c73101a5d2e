"""Benchmark command: ``uv run python -m bench [--quick|--full] [--scenarios ...]``.

Runs each scenario for this project and for the reference ``pipecat-getstream`` (pinned
release, plus its oldest spec-matching release for the cheap scenarios), each on a fresh
local server, and writes ``results.json``, ``table.md`` and PNG plots to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import time
import traceback
from pathlib import Path
from typing import Any

from bench import venvs
from bench.harness import ROOT, Ctx, ForeignMeter, Impl, wait_until_quiet

SCENARIOS = ("latency", "interruption", "pacing", "scale", "memory", "joinleave", "server")
#: The local server is the same for every implementation: measured once, with this project.
SERVER_ONLY = ("server",)
#: The oldest reference release is measured on these only (they show its known differences).
OLDEST_SCENARIOS = ("latency", "interruption", "joinleave")

MODES: dict[str, dict[str, Any]] = {
    # Quick: a smoke run of the harness (all scenarios share one set of processes per
    # implementation); its figures are not meaningful.
    "quick": {
        "latency_reps": 2,
        "interrupt_reps": 1,
        "utterance_secs": 2.5,
        "tts_ahead_secs": 1.0,
        "settle_secs": 0.5,
        "pacing_calls": 1,
        "pacing_secs": 2.0,
        "scale_steps": [1, 2],
        "scale_secs": 1.5,
        "memory_secs": 3.0,
        "memory_sample_secs": 1.0,
        "leave_calls": 1,
        "server_steps": [1],
    },
    "default": {
        "latency_reps": 10,
        "interrupt_reps": 10,
        "utterance_secs": 4.0,
        "tts_ahead_secs": 5.0,
        "settle_secs": 2.0,
        "pacing_calls": 16,
        "pacing_secs": 60.0,
        "scale_steps": [1, 4, 8, 16, 24, 32, 48],
        "scale_secs": 20.0,
        "memory_secs": 180.0,
        "memory_sample_secs": 2.0,
        "leave_calls": 8,
        "server_steps": [1, 4, 8, 16, 24, 32, 48, 64],
    },
    "full": {
        "latency_reps": 20,
        "interrupt_reps": 20,
        "utterance_secs": 4.0,
        "tts_ahead_secs": 5.0,
        "settle_secs": 2.0,
        "pacing_calls": 16,
        "pacing_secs": 600.0,
        "scale_steps": [1, 4, 8, 16, 24, 32, 48, 64],
        "scale_secs": 30.0,
        "memory_secs": 1800.0,
        "memory_sample_secs": 5.0,
        "leave_calls": 8,
        "server_steps": [1, 4, 8, 16, 24, 32, 48, 64, 96],
    },
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="seconds-long smoke run")
    group.add_argument("--full", action="store_true", help="10-min pacing, 30-min memory")
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument(
        "--impls",
        nargs="+",
        default=["ours-sdk7", "ours", "reference", "reference-oldest"],
        choices=["ours", "ours-sdk7", "reference", "reference-oldest"],
        help="ours: this project on an aiortc SDK (6.1.1 unless this env has one); "
        "ours-sdk7: on this env's SDK 7.x (skipped when it has none)",
    )
    parser.add_argument(
        "--reference-venv",
        type=Path,
        default=None,
        help=f"venv with pipecat-getstream=={venvs.PINNED} (created if missing)",
    )
    parser.add_argument(
        "--oldest-venv",
        type=Path,
        default=None,
        help=f"venv with pipecat-getstream=={venvs.OLDEST} (created if missing)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="override a mode setting, e.g. pacing_secs=120",
    )
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other scenarios of an existing results.json in --out (re-run some)",
    )
    return parser.parse_args(argv)


def settings_for(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    mode = "quick" if args.quick else "full" if args.full else "default"
    settings = dict(MODES[mode])
    for item in args.set:
        key, value = item.split("=", 1)
        settings[key] = json.loads(value)
    return mode, settings


def implementations(args: argparse.Namespace) -> list[Impl]:
    impls = []
    for name in args.impls:
        if name == "ours":
            impls.append(Impl("ours", "ours", venvs.aiortc_python(), venvs.sdk_of("aiortc")))
        elif name == "ours-sdk7":
            try:
                python = venvs.rust_python()
            except RuntimeError as exc:
                print(f"[bench] ours-sdk7 skipped: {exc}", flush=True)
                continue
            impls.append(Impl("ours-sdk7", "ours", python, venvs.sdk_of("rust")))
        elif name == "reference":
            py = venvs.ensure(venvs.PINNED, args.reference_venv)
            impls.append(Impl("reference", "reference", str(py), venvs.PINNED))
        else:
            py = venvs.ensure(venvs.OLDEST, args.oldest_venv)
            impls.append(Impl("reference-oldest", "reference", str(py), venvs.OLDEST))
    return impls


async def run_one(
    scenario: str, impl: Impl, settings: dict[str, Any], log_dir: Path, shared: Ctx | None = None
) -> dict[str, Any]:
    """Run one scenario on fresh processes, or on ``shared`` ones (quick mode)."""
    module = importlib.import_module(f"bench.scen_{scenario}")
    quiet = await wait_until_quiet() if shared is None else {}
    meter = ForeignMeter().start()
    started = time.monotonic()
    try:
        if shared is not None:
            try:
                result = await module.run(shared)
            finally:
                await shared.B.call("end", timeout=120)
                await shared.P.call("leave", timeout=120)
            result["versions"] = shared.versions
        else:
            async with Ctx(impl, settings, log_dir) as ctx:
                result = await module.run(ctx)
                result["versions"] = ctx.versions
    except Exception as exc:
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}", "headline": {}}
    result["wall_s"] = round(time.monotonic() - started, 1)
    result["machine_before"] = quiet
    result["settings_used"] = settings
    result["finished_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    result["foreign_cpu_pct_during"] = meter.read()
    return result


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    from bench import report

    mode, settings = settings_for(args)
    impls = implementations(args)
    out: Path = args.out
    log_dir = out / "tmp"
    log_dir.mkdir(parents=True, exist_ok=True)
    previous = out / "results.json"
    kept: dict[str, Any] = {}
    kept_impls: dict[str, str] = {}
    if args.merge and previous.exists():
        old = json.loads(previous.read_text())
        kept = old.get("scenarios", {})  # re-run (scenario, implementation) pairs replace theirs
        kept_impls = old.get("impls", {})
    results: dict[str, Any] = {
        "mode": mode,
        "settings": settings,
        "machine": report.machine(),
        "impls": {**kept_impls, **{i.name: i.version for i in impls}},
        "scenarios": dict(kept),
    }
    shared: dict[str, Ctx] = {}
    try:
        for scenario in args.scenarios:
            per_impl = results["scenarios"].setdefault(scenario, {})
            for impl in impls:
                if impl.name == "reference-oldest" and scenario not in OLDEST_SCENARIOS:
                    continue
                if scenario in SERVER_ONLY and impl.name != "ours":
                    continue
                if mode == "quick" and impl.name not in shared:
                    shared[impl.name] = await Ctx(impl, settings, log_dir).__aenter__()
                print(f"[bench] {scenario} / {impl.name} ...", flush=True)
                per_impl[impl.name] = await run_one(
                    scenario, impl, settings, log_dir, shared.get(impl.name)
                )
                print(
                    f"[bench] {scenario} / {impl.name}: "
                    f"{json.dumps(per_impl[impl.name].get('headline'))}",
                    flush=True,
                )
            report.write(results, out, plots=not args.no_plots)
    finally:
        for ctx in shared.values():
            await ctx.__aexit__(None, None, None)
    print(report.table(results))
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    asyncio.run(main_async(args))
    return 0
