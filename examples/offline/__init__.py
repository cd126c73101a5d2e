"""The offline mode of ``example.py``: everything on this machine, no credentials."""

from examples.offline.demo import run_demo
from examples.offline.serve import serve

__all__ = ["run_demo", "serve"]
