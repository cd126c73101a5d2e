"""The stack for ``getstream[webrtc]`` 7.x: the public ``getstream_rtc`` bindings (Rust core).

Media is encoded, paced and decoded in Rust; Python writes the bot's PCM and images into
the SDK's tracks and reads participants' PCM and I420 frames from them.
"""

from pipecat_getstream.stacks.rust.stack import RustStack

__all__ = ["RustStack"]
