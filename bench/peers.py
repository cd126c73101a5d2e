"""The peers process: simulated SDK participants, driven over the JSON-lines channel.

Run as ``python -m bench.peers`` (this project's environment). The local server runs in its
own process (``python -m pipecat_getstream.testing``); the bots in a third. Participants are
addressed by user id. The participants' aiortc senders use the vectorised audio level of
:mod:`pipecat_getstream.speedups`, as the server does, so they leave more of
the machine to the bots under test.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import numpy as np

from bench.channel import serve
from bench.participant import Participant
from bench.refpatch import keep_network_checks_local
from pipecat_getstream.speedups import install_fast_audio_level


class Peers:
    """Command handlers of the peers process."""

    def __init__(self) -> None:
        self.creds: dict[str, str] = {}
        self.people: dict[str, Participant] = {}
        self.lags: list[tuple[float, float]] = []

    async def init(self, base_url: str, api_key: str, api_secret: str) -> None:
        self.creds = {"base_url": base_url, "api_key": api_key, "api_secret": api_secret}
        keep_network_checks_local()
        asyncio.create_task(self._lag_loop())

    async def _lag_loop(self) -> None:
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.01)
            now = time.monotonic()
            self.lags.append((now, (now - t - 0.01) * 1000))
            if len(self.lags) > 400_000:
                del self.lags[:100_000]

    async def join(self, people: list[dict[str, Any]], timeout: float = 90.0) -> list[float]:
        """Join participants concurrently; each item: call_id, user_id, talk, freq, ..."""
        joining = []
        for spec in people:
            person = Participant(self.creds, **spec)
            self.people[person.user_id] = person
            joining.append(person.join())
        return list(await asyncio.wait_for(asyncio.gather(*joining), timeout))

    async def leave(self, users: list[str] | None = None) -> None:
        names = users if users is not None else list(self.people)
        leaving = [self.people.pop(u).leave() for u in names if u in self.people]
        await asyncio.gather(*leaving, return_exceptions=True)

    async def clear(self, users: list[str] | None = None) -> None:
        for user in users if users is not None else list(self.people):
            for rec in self.people[user].heard.values():
                rec.clear()

    async def sent(self, user: str) -> dict[str, Any]:
        """When this participant's speech left its track (onsets), and its starvation."""
        track = self.people[user].track
        if track is None:
            return {"onsets": [], "underruns": 0}
        return {"onsets": list(track.watch.onsets), "underruns": track.watch.underruns}

    async def heard(
        self,
        user: str,
        sender: str,
        since: float = 0.0,
        until: float | None = None,
        what: str = "onsets",
    ) -> Any:
        """What ``user`` heard from ``sender``: ``onsets``, ``last_loud`` or ``speech``."""
        rec = self.people[user].recorder(sender)
        end = until if until is not None else math.inf
        if what == "onsets":
            return rec.onsets(since, end)
        if what == "last_loud":
            return rec.last_loud(since, end)
        return rec.speech(since, end)

    async def hearing(self, user: str) -> dict[str, Any]:
        """Diagnostics: what ``user`` received, by sender (``?``: audio its SDK could not
        attribute), and which senders it knows; for the error of a scenario that stalls."""
        person = self.people.get(user)
        if person is None:
            return {"error": f"{user} is not in this process"}
        return {
            sender: {"chunks": len(rec.times), "onsets": len(rec.onsets())}
            for sender, rec in person.heard.items()
        }

    async def speech_all(
        self, pairs: list[list[str]], since: float, until: float, series: bool = False
    ) -> list[dict[str, Any]]:
        """:meth:`heard` ``speech`` for many ``[user, sender]`` pairs at once."""
        out = []
        for user, sender in pairs:
            result = self.people[user].recorder(sender).speech(since, until)
            if not series:
                result.pop("series", None)
            out.append(result)
            await asyncio.sleep(0)
        return out

    async def stats(self, since: float = 0.0, until: float | None = None) -> dict[str, Any]:
        end = until if until is not None else math.inf
        lags = np.array([lag for t, lag in self.lags if since <= t < end] or [0.0])
        return {
            "lag_max_ms": round(float(lags.max()), 1),
            "lag_p99_ms": round(float(np.percentile(lags, 99)), 1),
            "cpu_s": time.process_time(),
            "t": time.monotonic(),
        }


def main() -> None:
    install_fast_audio_level()
    peers = Peers()
    handlers = {
        name: getattr(peers, name)
        for name in (
            "init",
            "join",
            "leave",
            "clear",
            "sent",
            "heard",
            "hearing",
            "speech_all",
            "stats",
        )
    }
    asyncio.run(serve(handlers))


if __name__ == "__main__":
    main()
