"""The stack for ``getstream[webrtc]`` 3.3.3-6.x: the SDK's aiortc ConnectionManager.

Its guards against that SDK's bugs (watchdog, shared-reader tracks, off-loop socket close,
re-sent subscriptions) live here and nowhere else.
"""

from pipecat_getstream.stacks.aiortc.stack import AiortcStack

__all__ = ["AiortcStack"]
