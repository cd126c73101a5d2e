"""Pipecat frame classes and error reporting that differ between Pipecat 0.0.108 and 1.x."""

from __future__ import annotations

import inspect

from pipecat.frames import frames as _frames
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

InterruptionFrame = _frames.InterruptionFrame
InputTransportMessageFrame = _frames.InputTransportMessageFrame
OutputTransportMessageFrame = _frames.OutputTransportMessageFrame
OutputTransportMessageUrgentFrame = _frames.OutputTransportMessageUrgentFrame

# 1.x renamed the "end the pipeline from inside" frame; 0.0.108 only has EndTaskFrame.
EndPipelineFrame: type[_frames.Frame] = (
    getattr(_frames, "EndWorkerFrame", None) or _frames.EndTaskFrame
)
ClientConnectedFrame: type[_frames.Frame] | None = getattr(_frames, "ClientConnectedFrame", None)
BotConnectedFrame: type[_frames.Frame] | None = getattr(_frames, "BotConnectedFrame", None)

#: Pipecat 1.8+ reports a processor that can no longer work with ``force_treat_as_permanent``
#: and an error category, and deprecates ``fatal``; earlier versions have only ``fatal``.
_HAS_PERMANENT_ERRORS = (
    "force_treat_as_permanent" in inspect.signature(FrameProcessor.push_error).parameters
)


async def push_fatal_error(
    processor: FrameProcessor, message: str, exception: Exception, category: str
) -> None:
    """Report an error the processor cannot recover from, and cancel the pipeline.

    Pipecat before 1.8 gets ``push_error(..., fatal=True)``, on which its pipeline task
    cancels the pipeline. Pipecat 1.8+ deprecates ``fatal``: the error is pushed with
    ``force_treat_as_permanent=True`` and its category (the processor is marked unusable,
    as Pipecat's own transports report it), then a ``CancelWorkerFrame`` ends the pipeline
    whatever the worker's unusable-processor policy (its default keeps running).
    Pipecat logs the error once (``push_error_frame``).

    Args:
        processor: The processor that failed (it pushes the frames upstream).
        message: What failed and why, in one line.
        exception: The error behind it.
        category: A ``pipecat.utils.errors.ErrorCategory`` value, e.g. ``"authentication"``
            (used by Pipecat 1.8+ only).

    """
    if not _HAS_PERMANENT_ERRORS:
        await processor.push_error(message, exception, fatal=True)
        return
    from pipecat.utils.errors import ErrorCategory

    await processor.push_error(
        message, exception, category=ErrorCategory(category), force_treat_as_permanent=True
    )
    cancel = getattr(_frames, "CancelWorkerFrame")  # noqa: B009 (absent before 1.3)
    await processor.push_frame(cancel(reason=message), FrameDirection.UPSTREAM)
