"""``example.py --serve``: the local server and the offline bot, up until Ctrl-C.

A person talks to the bot from the join page the local server serves; any GetStream client
can join the call too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from examples.compat import run_pipeline
from examples.offline.agent import build_bot
from examples.offline.demo import BOT_ID, CALL_TYPE, Progress, _quietly, watch_bot
from pipecat_getstream.testing import LocalStreamServer
from pipecat_getstream.testing.server.join_page import join_url


async def serve(
    *,
    host: str,
    port: int,
    call_id: str,
    open_page: Callable[[str], Awaitable[None]] | None = None,
) -> None:
    """Start the local server and the offline bot, print how to connect, and wait.

    Args:
        host: Address the server listens on.
        port: Port (``0`` picks a free one).
        call_id: The call the bot joins.
        open_page: Called with the call's join page URL once the bot is in the call
            (``example.py`` opens it in a browser); ``None``: only printed.

    """
    server = await asyncio.to_thread(LocalStreamServer(host=host, port=port).start)
    say = Progress()
    bot_task: asyncio.Task[None] | None = None
    try:
        bot = build_bot(
            base_url=server.base_url,
            api_key=server.api_key,
            api_secret=server.api_secret,
            call_type=CALL_TYPE,
            call_id=call_id,
            user_id=BOT_ID,
        )
        watch = watch_bot(bot.transport, say)
        bot_task = asyncio.create_task(run_pipeline(bot.task, handle_sigint=False))
        await asyncio.wait_for(watch.connected.wait(), 30)
        bot.publisher.start()
        page = join_url(server.base_url, CALL_TYPE, call_id)
        print(
            f"""
The local GetStream-compatible server is up, with the bot (an echo agent) in the call.

Talk to it from your browser (microphone and camera; headphones avoid an echo):

  join page          {page}

Or connect any GetStream SDK client to it:

  base URL (API)     {server.base_url}
  coordinator WS     {server.coordinator_ws_url}
  API key            {server.api_key}
  API secret         {server.api_secret}
  call type / id     {CALL_TYPE} / {call_id}

For example, with the Python SDK:
  client = AsyncStream(api_key="{server.api_key}", api_secret="{server.api_secret}",
                       base_url="{server.base_url}")
  call = client.video.call("{CALL_TYPE}", "{call_id}")

Speak, pause, and the bot says it back; it publishes its state as custom events
(the SDK opens its coordinator WebSocket at GetStream's cloud address: point it at
the coordinator WS above to receive them). Press Ctrl-C to stop.

  export STREAM_API_KEY={server.api_key}
  export STREAM_API_SECRET={server.api_secret}""",
            flush=True,
        )
        if open_page is not None:
            await open_page(page)
        await asyncio.shield(bot_task)  # until Ctrl-C (or the pipeline ends)
    finally:
        if bot_task is not None and not bot_task.done():
            await _quietly(bot.task.cancel())
            await _quietly(asyncio.wait_for(bot_task, 10))
        await asyncio.to_thread(server.stop)
