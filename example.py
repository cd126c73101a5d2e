"""A voice agent in a GetStream call, built with Pipecat and pipecat-getstream.

Run it with ``uv run example.py``. What it does depends on the environment:

* **With credentials** (``STREAM_API_KEY``, ``STREAM_API_SECRET``,
  ``DEEPGRAM_API_KEY``, ``GOOGLE_API_KEY``) it is the full agent: Deepgram
  speech-to-text and text-to-speech, a Google LLM and Silero VAD, in a call on
  GetStream's cloud. Once the bot has joined, a browser opens the call's join
  page for you. Install the services first: ``uv sync --extra example``.
  Optional: ``STREAM_CALL_TYPE`` (``default``), ``STREAM_CALL_ID`` (random),
  ``STREAM_USER_ID`` (``pipecat-bot``) and ``STREAM_BASE_URL``, the web page
  where a person joins a call.

* **Without credentials** it runs offline, in one process: a local
  GetStream-compatible server, the same transport with Silero VAD and a small
  local agent that repeats what it hears, and a simulated person (the GetStream
  SDK) who speaks recorded sentences, talks over the bot once, and records what
  it hears. It prints a report and writes it, a recording and a timeline
  picture into ``example-output/`` (``--out DIR``).

* ``--serve`` starts the local server and the offline bot and stays up, and opens
  the call's join page (served by the local server) in your browser: talk to the
  bot with your own microphone (``--no-browser`` only prints its address). Any
  GetStream client can join the call too.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import uuid
import warnings
import webbrowser
from pathlib import Path
from urllib.parse import urlencode

from loguru import logger

CLOUD_KEYS = ("STREAM_API_KEY", "STREAM_API_SECRET", "DEEPGRAM_API_KEY", "GOOGLE_API_KEY")
#: GetStream's public demo app: its ``/join/<call id>`` page joins a call.
DEFAULT_JOIN_PAGE = "https://getstream.io/video/demos"
DEMO_USER = "demo-user"
DEMO_TOKEN_SECONDS = 3600
SYSTEM_PROMPT = (
    "You are a helpful assistant in a voice call. Your replies are spoken aloud, so use "
    "plain sentences without emojis, lists or formatting. Answer briefly and helpfully."
)


class SetupError(Exception):
    """Something the user must fix before the example can run (shown as one line)."""


# ─────────────────────────────── the cloud agent ───────────────────────────────


async def run_cloud(env: dict[str, str]) -> None:
    """The agent of the README: Deepgram STT and TTS, a Google LLM, Silero VAD."""
    for module in ("deepgram", "google.genai"):
        if not _installed(module):
            raise SetupError(
                f"the cloud agent needs Pipecat's deepgram and google services "
                f"(module {module!r} is missing): run `uv sync --extra example` "
                "or `pip install 'pipecat-getstream[example]'`"
            )
    from examples.compat import run_pipeline
    from pipecat.audio.vad.silero import SileroVADAnalyzer
    from pipecat.frames.frames import LLMRunFrame
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.pipeline.task import PipelineParams, PipelineTask
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.processors.aggregators.llm_response_universal import (
        LLMContextAggregatorPair,
        LLMUserAggregatorParams,
    )
    from pipecat.services.deepgram.stt import DeepgramSTTService
    from pipecat.services.deepgram.tts import DeepgramTTSService
    from pipecat.services.google.llm import GoogleLLMService

    from pipecat_getstream import GetstreamTransport
    from pipecat_getstream.transport import GetstreamParams
    from pipecat_getstream.utils import GetstreamRESTHelper

    api_key, api_secret = env["STREAM_API_KEY"], env["STREAM_API_SECRET"]
    call_type = env.get("STREAM_CALL_TYPE") or "default"
    call_id = env.get("STREAM_CALL_ID") or f"pipecat-{uuid.uuid4().hex[:12]}"
    join_page = env.get("STREAM_BASE_URL") or DEFAULT_JOIN_PAGE

    # Current Pipecat runs the VAD in the user aggregator; older versions in the transport.
    vad = SileroVADAnalyzer()
    vad_in_aggregator = "vad_analyzer" in LLMUserAggregatorParams.__dataclass_fields__
    params = GetstreamParams(audio_in_enabled=True, audio_out_enabled=True)
    if not vad_in_aggregator:
        params.vad_analyzer = vad  # type: ignore[attr-defined,unused-ignore]
    transport = GetstreamTransport(
        api_key=api_key,
        api_secret=api_secret,
        call_type=call_type,
        call_id=call_id,
        user_id=env.get("STREAM_USER_ID") or "pipecat-bot",
        params=params,
    )
    stt = DeepgramSTTService(api_key=env["DEEPGRAM_API_KEY"])
    llm = GoogleLLMService(
        api_key=env["GOOGLE_API_KEY"],
        settings=GoogleLLMService.Settings(system_instruction=SYSTEM_PROMPT),
    )
    tts = DeepgramTTSService(api_key=env["DEEPGRAM_API_KEY"])

    context = LLMContext()
    user_aggregator, assistant_aggregator = LLMContextAggregatorPair(
        context,
        user_params=LLMUserAggregatorParams(vad_analyzer=vad if vad_in_aggregator else None),
    )
    pipeline = Pipeline(
        [
            transport.input(),
            stt,
            user_aggregator,
            llm,
            tts,
            transport.output(),
            assistant_aggregator,
        ]
    )
    task = PipelineTask(pipeline, params=PipelineParams(enable_metrics=True))
    helper = GetstreamRESTHelper(api_key=api_key, api_secret=api_secret)

    @transport.event_handler("on_connected")
    async def on_connected(transport: GetstreamTransport) -> None:
        print(f"Bot joined call {transport.call_cid}", flush=True)
        token = helper.create_token(user_id=DEMO_USER, expiration=DEMO_TOKEN_SECONDS)
        url = join_url(join_page, call_id, api_key=api_key, token=token, user_name=DEMO_USER)
        await open_browser(url)

    @transport.event_handler("on_first_participant_joined")
    async def on_first_participant_joined(transport: GetstreamTransport, user_id: str) -> None:
        print(f"{user_id} joined: the bot greets them", flush=True)
        context.add_message({"role": "user", "content": "Greet me and ask how you can help."})
        await task.queue_frames([LLMRunFrame()])

    print(f"Bot joining call {call_type}:{call_id} ... (Ctrl-C to stop)", flush=True)
    await run_pipeline(task)  # PipelineRunner().run(task), as this Pipecat wants it


def join_url(page: str, call_id: str, *, api_key: str, token: str, user_name: str) -> str:
    """The join page of a call, with what the page needs to join without a lobby."""
    query = urlencode(
        {"api_key": api_key, "token": token, "user_name": user_name, "skip_lobby": "true"}
    )
    return f"{page.rstrip('/')}/join/{call_id}?{query}"


async def open_browser(url: str) -> None:
    """Open the URL in a browser, or print it when no browser can be opened."""
    try:
        opened = await asyncio.to_thread(webbrowser.open, url)
    except Exception:
        opened = False
    if opened:
        print(f"Opened the call in your browser: {url}", flush=True)
    else:
        print(f"Open this URL to join the call: {url}", flush=True)


# ─────────────────────────────── running it ───────────────────────────────


def choose_mode(args: argparse.Namespace, env: dict[str, str]) -> str:
    """``"cloud"`` when the credentials are set, ``"offline"`` when none is."""
    if args.offline or args.serve:
        return "offline"
    missing = [key for key in CLOUD_KEYS if not env.get(key)]
    if not missing:
        return "cloud"
    if args.cloud or len(missing) < len(CLOUD_KEYS):
        raise SetupError(
            f"{missing[0]} is not set: the cloud agent needs {', '.join(CLOUD_KEYS)} "
            "(unset them all, or pass --offline, to run the offline demo)"
        )
    return "offline"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="A Pipecat voice agent in a GetStream call. With STREAM_API_KEY, "
        "STREAM_API_SECRET, DEEPGRAM_API_KEY and GOOGLE_API_KEY set it joins GetStream's "
        "cloud; without them it runs an offline demo against a local server.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--offline", action="store_true", help="run the offline demo even if credentials are set"
    )
    mode.add_argument("--cloud", action="store_true", help="require the cloud credentials")
    mode.add_argument(
        "--serve",
        action="store_true",
        help="start the local server and the offline bot, and stay up for your own client",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("example-output"),
        help="offline demo: where the report, recording and timeline go (default: %(default)s)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="--serve: address to listen on")
    parser.add_argument("--port", type=int, default=0, help="--serve: port (default: any)")
    parser.add_argument("--call-id", default="example", help="--serve: the bot's call id")
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="--serve: print the join page's address instead of opening it in a browser",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logs")
    return parser.parse_args(argv)


def setup_logging(verbose: bool) -> None:
    """Readable output: warnings only, unless ``--verbose``."""
    level = "DEBUG" if verbose else "WARNING"
    logger.remove()
    logger.add(sys.stderr, level=level, format="<level>{level: <7}</level> {name}: {message}")
    logging.basicConfig(level=logging.DEBUG if verbose else logging.ERROR)
    if not verbose:
        # A client hanging up mid-request is no news in a demo.
        logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="dataclasses_json")


async def run(args: argparse.Namespace, mode: str, env: dict[str, str]) -> int:
    """Run the chosen mode; Ctrl-C and SIGTERM stop it cleanly."""
    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if mode != "cloud":  # Pipecat's runner handles the signals in the cloud agent
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, main_task.cancel)  # type: ignore[union-attr]
            except (NotImplementedError, RuntimeError):  # not on this platform
                pass
    try:
        if mode == "cloud":
            from pipecat_getstream import GetstreamConfigError

            try:
                await run_cloud(env)
            except GetstreamConfigError as exc:
                raise SetupError(str(exc)) from exc
            return 0
        from examples.offline import run_demo, serve

        if args.serve:
            await serve(
                host=args.host,
                port=args.port,
                call_id=args.call_id,
                open_page=None if args.no_browser else open_browser,
            )
            return 0
        return 0 if await run_demo(args.out) else 1
    except asyncio.CancelledError:
        print("Stopped.", flush=True)
        return 130


def main(argv: list[str] | None = None) -> int:
    """Entry point: returns the process exit status."""
    args = parse_args(argv)
    setup_logging(args.verbose)
    try:
        from dotenv import load_dotenv  # optional: read a .env file beside the example

        load_dotenv()
    except ImportError:
        pass
    env = dict(os.environ)
    try:
        mode = choose_mode(args, env)
        return asyncio.run(run(args, mode, env))
    except SetupError as exc:
        print(f"example.py: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


if __name__ == "__main__":
    sys.exit(main())
