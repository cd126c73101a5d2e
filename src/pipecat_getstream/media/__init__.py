"""Media conversion and timing: resampling, the input feed and mixer, the paced writer, video.

Internal: not part of the public API (see :mod:`pipecat_getstream`); names here may change
between releases.
"""

__all__: list[str] = []
