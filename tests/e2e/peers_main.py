"""A separate process with LocalStreamServer and N talking SDK participants (for the soak test).

Prints one JSON line with the server's credentials once everyone is ready to join; the
participants join when a ``join <call-prefix> <n>`` line arrives on stdin, leave on ``leave``,
and the process exits at end of input. Keeping the server and the simulated humans here
means the test process measures only the transports.
"""

import asyncio
import json
import sys

from pipecat_getstream.testing import LocalStreamServer
from tests.e2e.human import Human


async def main() -> None:
    loop = asyncio.get_running_loop()
    async with LocalStreamServer() as server:
        print(
            json.dumps(
                {
                    "base_url": server.base_url,
                    "api_key": server.api_key,
                    "api_secret": server.api_secret,
                }
            ),
            flush=True,
        )
        humans: list[Human] = []
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            words = line.split()
            if words[:1] == ["join"]:
                prefix, count = words[1], int(words[2])
                humans = [
                    Human(server, f"{prefix}-{i}", f"user{i}", tone_hz=300 + 20 * i, record=False)
                    for i in range(count)
                ]
                await asyncio.gather(*(h.join() for h in humans))
                print(json.dumps({"joined": count}), flush=True)
            elif words[:1] == ["heard"]:
                # Seconds of audio each participant has received, from anyone.
                heard = {h.user_id: h.kit.audio_seconds for h in humans}
                print(json.dumps({"heard": heard}), flush=True)
            elif words[:1] == ["leave"]:
                results = await asyncio.gather(*(h.leave() for h in humans), return_exceptions=True)
                problems = {
                    h.user_id: result if isinstance(result, list) else [repr(result)]
                    for h, result in zip(humans, results, strict=True)
                    if result
                }
                print(json.dumps({"left": len(humans), "problems": problems}), flush=True)
                humans = []


if __name__ == "__main__":
    asyncio.run(main())
