"""Run ``LocalStreamServer`` standalone: ``python -m pipecat_getstream.testing``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from pipecat_getstream.testing.server.local_server import LocalStreamServer

#: The port GetStream's web SDK moves its coordinator socket away from (to 8800).
WEB_SDK_REWRITTEN_PORT = 3030


def main(argv: list[str] | None = None) -> int:
    """Start the server, print the environment to use it, and serve until Ctrl-C or SIGTERM.

    Args:
        argv: Command-line arguments (defaults to ``sys.argv[1:]``).

    Returns:
        The process exit code.

    """
    parser = argparse.ArgumentParser(
        prog="python -m pipecat_getstream.testing",
        description="Local GetStream-compatible server (coordinator + SFU) for offline runs.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0 = free port)")
    parser.add_argument("--api-key", default=None, help="API key (random when omitted)")
    parser.add_argument("--api-secret", default=None, help="API secret (random when omitted)")
    parser.add_argument(
        "--webhook-url",
        default=None,
        help="POST signed GetStream webhooks (call.session_started, ...) to this URL",
    )
    args = parser.parse_args(argv)

    server = LocalStreamServer(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        api_secret=args.api_secret,
        webhook_url=args.webhook_url,
    )
    stopping = threading.Event()

    def _on_sigterm(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _on_sigterm)
    server.start()
    print(f"export STREAM_API_KEY={server.api_key}")
    print(f"export STREAM_API_SECRET={server.api_secret}")
    print(f"export GETSTREAM_BASE_URL={server.base_url}")
    print(f"# coordinator WebSocket: {server.coordinator_ws_url}")
    print(f"# web SDK (@stream-io/video-client) baseURL: {server.base_url}/api/v2/video")
    if server.port == WEB_SDK_REWRITTEN_PORT:
        # The web SDK's socket URL is its baseURL with ":3030" replaced by ":8800".
        print("# warning: the web SDK cannot use port 3030 (it opens its socket on 8800)")
    print(f"# join page (a call from your browser): {server.base_url}/join/<call type>/<call id>")
    print("# press Ctrl-C to stop", flush=True)
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
