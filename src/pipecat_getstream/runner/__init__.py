"""The agent server: runs a Pipecat bot in GetStream calls on request, as a service.

A bot is ``async def bot(runner_args)``, as under Pipecat's runner; ``runner_args`` is a
:class:`GetstreamRunnerArguments` (the call, the request's body, a transport factory).
Serve it with ``run(bot)`` from ``bot.py`` or ``python -m pipecat_getstream.runner
bot:bot``. Bots start from the sessions API (``POST /sessions``) or GetStream's signed
webhooks (``POST /webhooks/getstream``), within per-process and per-call limits; SIGTERM
drains. Needs the ``runner`` extra: ``pip install "pipecat-getstream[runner]"``.
"""

from pipecat_getstream.runner.cli import run
from pipecat_getstream.runner.config import RunnerConfig
from pipecat_getstream.runner.server import AgentServer
from pipecat_getstream.runner.session import GetstreamRunnerArguments
from pipecat_getstream.runner.sessions import Session, SessionManager, SessionState, StartRefused

__all__ = [
    "AgentServer",
    "GetstreamRunnerArguments",
    "RunnerConfig",
    "Session",
    "SessionManager",
    "SessionState",
    "StartRefused",
    "run",
]
