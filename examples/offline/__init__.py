"""The offline mode of ``example.py``: everything on this machine, no credentials."""

from examples.offline.demo import run_demo, serve

__all__ = ["run_demo", "serve"]
