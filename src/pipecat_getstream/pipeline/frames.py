"""Pipecat frame classes that differ between Pipecat 0.0.108 and 1.x, imported once."""

from __future__ import annotations

from pipecat.frames import frames as _frames

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
