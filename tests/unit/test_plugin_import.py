"""Importing the package and its pytest plugin: nothing heavy, and nothing process-wide.

pytest imports the plugin in every run of a project that has the package installed, so the
plugin must not pull in the server, the SDK, Pipecat or numpy. Importing the package (and
resolving its lazy names) must leave logging, loguru, asyncio's policy, the warnings
filters and aiortc's audio-level function as they were. Each check runs in a fresh
interpreter, where nothing else has imported those modules yet.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

#: Top-level modules the plugin must not import (each costs a user's run time, or more).
HEAVY = (
    "aiohttp",
    "aiortc",
    "av",
    "getstream",
    "getstream_rtc",
    "loguru",
    "numpy",
    "pipecat",
    "pipecat_getstream.testing.server",
    "pipecat_getstream.testing.kit",
    "pipecat_getstream.transport",
)


def run_python(code: str) -> Any:
    """Run ``code`` in a fresh interpreter and return the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def heavy_modules(names: list[str]) -> list[str]:
    """The names among ``names`` that are, or are inside, a module of ``HEAVY``."""
    return sorted(n for n in names if any(n == h or n.startswith(h + ".") for h in HEAVY))


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    loaded = run_python(
        """
        import json, sys
        import pipecat_getstream.testing.pytest_plugin
        print(json.dumps(sorted(sys.modules)))
        """
    )
    assert "pipecat_getstream.testing.pytest_plugin" in loaded
    assert heavy_modules(loaded) == []


def test_the_check_sees_a_heavy_import() -> None:
    # The same measurement after a fixture's import: what the plugin defers is really heavy.
    loaded = run_python(
        """
        import json, sys
        from pipecat_getstream.testing import LocalStreamServer
        print(json.dumps(sorted(sys.modules)))
        """
    )
    assert {"aiohttp", "aiortc", "pipecat_getstream.testing.server"} <= set(heavy_modules(loaded))


def test_the_plugin_fixtures_and_the_lazy_names_resolve() -> None:
    names = run_python(
        """
        import json
        import pipecat_getstream.testing as testing
        from pipecat_getstream.testing import pytest_plugin
        out = [testing.LocalStreamServer.__name__, testing.SimulatedParticipant.__name__]
        out += [n for n in ("getstream_server", "getstream_call_id", "simulated_participant")
                if hasattr(pytest_plugin, n)]
        try:
            testing.NoSuchThing
        except AttributeError:
            out.append("AttributeError")
        print(json.dumps(out))
        """
    )
    assert names == [
        "LocalStreamServer",
        "SimulatedParticipant",
        "getstream_server",
        "getstream_call_id",
        "simulated_participant",
        "AttributeError",
    ]


#: Prints the process-wide state a library could change, as JSON. The third-party modules
#: the package uses (and the installed SDK's media stack) are imported before the first
#: snapshot, so what they do at import is not counted against the package.
_SNAPSHOT = """
import asyncio, json, logging, signal, socket, sys, threading, warnings
import aiohttp.web, aiortc.rtp, getstream, importlib, loguru, numpy
import pipecat.transports.base_transport
from loguru import logger
for sdk_module in ("getstream.video.rtc", "getstream_rtc"):  # the SDK's media stack, if any
    try:  # on 6.x it imports requests, websocket-client and structlog (their own loggers)
        importlib.import_module(sdk_module)
    except ImportError:
        pass

def snapshot():
    loggers = {"": logging.getLogger()}
    loggers.update(
        (name, item) for name, item in logging.root.manager.loggerDict.items()
        if isinstance(item, logging.Logger)
    )
    return {
        "loggers": {
            name: [item.level, item.propagate, item.disabled,
                   [repr(h) for h in item.handlers], [repr(f) for f in item.filters]]
            for name, item in loggers.items()
        },
        "logging": [logging.root.manager.disable, repr(logging.getLoggerClass()),
                    repr(logging.getLogRecordFactory())],
        "loguru": [repr(logger._core.handlers), sorted(logger._core.levels),
                   repr(logger._core.extra), repr(logger._core.patcher)],
        "asyncio": repr(asyncio.get_event_loop_policy()),
        "warnings": [repr(f) for f in warnings.filters],
        "hooks": [repr(sys.excepthook), repr(threading.excepthook),
                  repr(signal.getsignal(signal.SIGINT)), repr(signal.getsignal(signal.SIGTERM)),
                  repr(socket.getdefaulttimeout()), sys.getrecursionlimit()],
        "aiortc_audio_level": repr(aiortc.rtp.compute_audio_level_dbov),
    }

before = snapshot()
IMPORTS
after = snapshot()
changed = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
new_loggers = sorted(set(after["loggers"]) - set(before["loggers"]))
for name in new_loggers:  # a logger the import created must be as logging makes one
    if after["loggers"][name] != [logging.NOTSET, True, False, [], []]:
        changed.setdefault("new loggers", []).append([name, after["loggers"][name]])
for name in set(before["loggers"]) & set(after["loggers"]):
    if before["loggers"][name] != after["loggers"][name]:
        changed.setdefault("loggers changed", []).append(name)
changed.pop("loggers", None)
print(json.dumps(changed))
"""


def import_state_changes(imports: str) -> dict[str, Any]:
    """What running ``imports`` changes of the process-wide state (empty: nothing)."""
    return run_python(_SNAPSHOT.replace("IMPORTS", textwrap.dedent(imports).strip()))


def test_importing_the_package_changes_no_process_wide_state() -> None:
    changes = import_state_changes(
        """
        import pipecat_getstream
        import pipecat_getstream.testing
        from pipecat_getstream import GetstreamParams, GetstreamTransport, ParticipantInfo
        from pipecat_getstream.testing import LocalStreamServer, SimulatedParticipant, signals
        from pipecat_getstream.testing import pytest_plugin
        from pipecat_getstream import speedups
        from pipecat_getstream.utils import GetstreamRESTHelper
        """
    )
    assert changes == {}


def test_the_state_check_sees_a_change() -> None:
    # Each kind of change the snapshot covers is reported (so an empty result means something).
    changes = import_state_changes(
        """
        import logging, warnings
        from loguru import logger
        from pipecat_getstream import speedups
        logging.getLogger().addFilter(logging.Filter("x"))  # the root: exists on every SDK
        logging.getLogger("pipecat_getstream.new").setLevel(logging.DEBUG)
        warnings.simplefilter("ignore", DeprecationWarning)
        logger.add(lambda message: None)
        speedups.install_fast_audio_level()
        """
    )
    assert set(changes) == {
        "loguru",
        "warnings",
        "aiortc_audio_level",
        "new loggers",
        "loggers changed",
    }
