"""The bot process: N bots of one implementation, driven over the JSON-lines channel.

Run as ``<python> -m bench.bot_side --impl ours|reference`` with the working directory at the
project root; for the reference, ``<python>`` is the reference virtual environment's.
Everything measured here (CPU, event-loop lag, memory, the bots' own tracks) is this
process's own: the server and the participants run elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from typing import Any

from bench import trackwatch
from bench.channel import serve
from bench.loopwatch import (
    LoopLag,
    awaits_summary,
    install_slow_callback_log,
    sample_awaits,
    slow_callbacks,
)
from bench.refpatch import keep_network_checks_local, point_reference_at
from bench.signals import Tone

try:
    import psutil
except ImportError:  # pragma: no cover - both venvs install it
    psutil = None


class BotProcess:
    """Command handlers of the bot process."""

    def __init__(self, impl: str):
        self.impl = impl
        self.creds: dict[str, str] = {}
        self.bots: dict[int, Any] = {}
        self.lag = LoopLag()
        self._proc = psutil.Process() if psutil else None

    async def init(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        track_rate: int = 16000,
        slow_callbacks: bool = False,
        writer_lead_secs: float | None = None,
    ) -> dict[str, Any]:
        if slow_callbacks:
            install_slow_callback_log()
        self.creds = {
            "base_url": base_url,
            "api_key": api_key,
            "api_secret": api_secret,
            "track_rate": str(track_rate),
            # This project's GetstreamParams.audio_out_lead_secs; the reference has no such knob.
            "writer_lead_secs": "" if writer_lead_secs is None else str(writer_lead_secs),
        }
        keep_network_checks_local()
        trackwatch.install()
        if self.impl == "reference":
            point_reference_at(base_url)
        from importlib.metadata import version

        self.lag.start()
        return {
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "pipecat_getstream": version("pipecat-getstream"),
            "getstream": version("getstream"),
            "pipecat": version("pipecat-ai"),
        }

    async def start(
        self, call_ids: list[str], first_index: int = 0, timeout: float = 90.0
    ) -> list[float]:
        """Start one bot per call concurrently; returns start -> on_connected seconds each."""
        from bench.botunit import BotUnit

        units = []
        for k, call_id in enumerate(call_ids):
            index = first_index + k
            unit = BotUnit(index, self.impl, self.creds, call_id, f"bot-{index}")
            self.bots[index] = unit
            units.append(unit)
        return list(await asyncio.gather(*(u.start(timeout) for u in units)))

    def _select(self, bots: list[int] | None) -> list[Any]:
        return [self.bots[i] for i in (bots if bots is not None else sorted(self.bots))]

    async def say(self, bot: int, secs: float, freq: float = 660.0) -> float:
        return await self.bots[bot].say(Tone(freq, 16000).next(secs))

    async def speak(
        self,
        secs: float,
        bots: list[int] | None = None,
        chunk_secs: float = 0.1,
        speed: float = 4.0,
        max_ahead: float = 5.0,
        freq: float = 660.0,
    ) -> float:
        t = time.monotonic()
        for unit in self._select(bots):
            unit.speak(secs, chunk_secs, speed, max_ahead, freq)
        return t

    async def interrupt(self, bot: int) -> float:
        return await self.bots[bot].interrupt()

    async def watch(self, bots: list[int] | None = None, reset: bool = False) -> dict[str, Any]:
        """The bots' own tracks: onsets, last speech, starvation (see ``trackwatch``)."""
        return {str(u.index): trackwatch.summary(u.index, reset) for u in self._select(bots)}

    async def probe(self, bots: list[int] | None = None, reset: bool = False) -> dict[str, Any]:
        out = {}
        for unit in self._select(bots):
            out[str(unit.index)] = {"onsets": list(unit.probe.onsets), "frames": unit.probe.frames}
            if reset:
                unit.probe.onsets.clear()
        return out

    async def stats(self, since: float = 0.0, until: float | None = None) -> dict[str, Any]:
        """CPU seconds, RSS, and event-loop lag over ``[since, until)`` (monotonic)."""
        cpu = time.process_time()
        rss = self._proc.memory_info().rss if self._proc else 0
        until = until if until is not None else time.monotonic() + 1
        return {
            "t": time.monotonic(),
            "cpu_s": cpu,
            "rss_mb": rss / 2**20,
            "threads": len(self._proc.threads()) if self._proc else 0,
            "lag": self.lag.window(since, until),
            "stalls": self.lag.stalls(since, until),
            "gc_pauses": self.lag.gc_window(since, until),
            "slow_callbacks": slow_callbacks(since, until),
        }

    async def end(self, bots: list[int] | None = None, timeout: float = 120.0) -> dict[str, Any]:
        """End the bots together (``EndFrame``); returns each one's EndFrame -> gone seconds."""
        units = self._select(bots)
        t = time.monotonic()
        sampler = asyncio.create_task(sample_awaits())
        results = await asyncio.gather(*(u.end(timeout) for u in units), return_exceptions=True)
        out: dict[str, Any] = {"t0": t, "all_s": time.monotonic() - t, "each_s": []}
        sampler.cancel()
        out["awaiting"] = await asyncio.gather(sampler, return_exceptions=True)
        out["awaiting"] = awaits_summary()
        for unit, result in zip(units, results, strict=True):
            out["each_s"].append(result if isinstance(result, float) else str(result))
            self.bots.pop(unit.index, None)
            trackwatch.watches.pop(unit.index, None)
        return out

    async def gc_freeze(self) -> dict[str, Any]:
        """``gc.freeze()``: exclude every object alive now from later collections (diagnostic).

        Returns the number of objects the collector tracked before freezing.
        """
        tracked = len(gc.get_objects())
        gc.collect()
        gc.freeze()
        return {"tracked_objects": tracked, "frozen": gc.get_freeze_count()}

    async def hush(self, bots: list[int] | None = None) -> None:
        """Stop pushing speech (what is queued still plays)."""
        for unit in self._select(bots):
            if unit.speaker is not None:
                unit.speaker.cancel()

    async def speaking_done(self, bots: list[int] | None = None) -> bool:
        return all(u.speaker is None or u.speaker.done() for u in self._select(bots))

    async def trim(self, before: float) -> None:
        self.lag.trim(before)

    async def cancel_all(self) -> None:
        await asyncio.gather(*(u.cancel() for u in self.bots.values()), return_exceptions=True)
        self.bots.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--impl", choices=("ours", "reference"), required=True)
    args = parser.parse_args()
    proc = BotProcess(args.impl)
    handlers = {
        name: getattr(proc, name)
        for name in (
            "init",
            "start",
            "say",
            "speak",
            "interrupt",
            "watch",
            "probe",
            "stats",
            "end",
            "speaking_done",
            "gc_freeze",
            "hush",
            "trim",
            "cancel_all",
        )
    }
    asyncio.run(serve(handlers))


if __name__ == "__main__":
    main()
