"""Benchmarks of the transport against the reference ``pipecat-getstream`` (not shipped)."""
