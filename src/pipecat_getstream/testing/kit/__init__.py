"""The test kit: ``SimulatedParticipant``, what it saw of a call, and its SDK backends.

Import ``SimulatedParticipant`` from :mod:`pipecat_getstream.testing`; the modules here are
internal.
"""

__all__: list[str] = []
