"""Small differences between the Pipecat versions the example supports (0.0.108 to 1.x)."""

from __future__ import annotations

from typing import Any


async def run_pipeline(task: Any, *, handle_sigint: bool = True) -> None:
    """Run a ``PipelineTask`` until it ends.

    Pipecat 1.3+ registers the task with ``add_workers()`` before ``run()``
    (passing it to ``run()`` is deprecated); older versions take it in ``run()``.
    """
    from pipecat.pipeline.runner import PipelineRunner

    runner = PipelineRunner(handle_sigint=handle_sigint)
    if hasattr(runner, "add_workers"):
        await runner.add_workers(task)
        await runner.run()  # type: ignore[call-arg,unused-ignore]
    else:
        await runner.run(task)
