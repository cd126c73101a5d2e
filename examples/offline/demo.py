"""The offline run: local server, bot and a simulated participant in one process."""

from __future__ import annotations

import asyncio
import platform
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from loguru import logger
from pipecat.frames.frames import EndFrame

from examples.compat import run_pipeline
from examples.offline.agent import OfflineBot, build_bot
from examples.offline.participant import SimulatedParticipant, load_wav
from examples.offline.report import (
    draw_timeline,
    silence_after,
    speech_segments,
    write_audio,
    write_report,
)
from pipecat_getstream import GetstreamTransport
from pipecat_getstream.testing import LocalStreamServer

ASSETS = Path(__file__).resolve().parents[2] / "assets"
CALL_TYPE = "default"
BOT_ID = "pipecat-bot"
PARTICIPANT_ID = "alice"


class Progress:
    """Prints timestamped progress lines (seconds since the run started)."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self, message: str) -> None:
        """Print one line."""
        print(f"[{time.monotonic() - self.t0:5.1f}s] {message}", flush=True)


@dataclass
class BotWatch:
    """What the demo learns from the bot's transport events."""

    connected: asyncio.Event = field(default_factory=asyncio.Event)
    hears_participant: asyncio.Event = field(default_factory=asyncio.Event)
    custom_events: list[dict[str, Any]] = field(default_factory=list)
    connected_at: float | None = None


def watch_bot(transport: GetstreamTransport, say: Progress) -> BotWatch:
    """Register the transport event handlers that report progress."""
    watch = BotWatch()

    @transport.event_handler("on_connected")
    async def on_connected(transport: GetstreamTransport) -> None:
        watch.connected_at = time.monotonic()
        watch.connected.set()
        say(f"bot '{transport.user_id}' joined call {transport.call_cid}")

    @transport.event_handler("on_participant_connected")
    async def on_participant_connected(transport: GetstreamTransport, participant: str) -> None:
        say(f"bot sees participant '{participant}' join")

    @transport.event_handler("on_audio_track_subscribed")
    async def on_audio_track_subscribed(transport: GetstreamTransport, participant: str) -> None:
        say(f"bot receives audio from '{participant}'")
        watch.hears_participant.set()

    @transport.event_handler("on_participant_left")
    async def on_participant_left(transport: GetstreamTransport, participant: str) -> None:
        say(f"bot sees participant '{participant}' leave")

    @transport.event_handler("on_stream_custom_event")
    async def on_stream_custom_event(transport: GetstreamTransport, event: dict[str, Any]) -> None:
        watch.custom_events.append(event)
        sender = event.get("user", {}).get("id", "?")
        say(f"bot got a custom event from '{sender}': {event.get('custom')}")

    return watch


@dataclass
class Script:
    """Times (monotonic) of what the participant did and heard."""

    turns: list[tuple[float, float]] = field(default_factory=list)
    replies: list[float | None] = field(default_factory=list)
    talk_over: tuple[float, float] | None = None


async def converse(p: SimulatedParticipant, say: Progress) -> Script:
    """The participant's part: two turns, then talking over the bot's second answer.

    1. "Hello there, can you hear me clearly?" — wait for the whole answer.
    2. "Please tell me a long story..." — once the bot has talked for a second,
    3. "Sorry, please stop for a moment." over it — and wait for that answer.
    """
    clips = {name: load_wav(ASSETS / f"{name}.wav") for name in ("hello", "story", "stop")}
    script = Script()

    async def turn(name: str, text: str) -> tuple[float, float]:
        say(f"participant says: “{text}”")
        spoken = await p.say(clips[name])
        script.turns.append(spoken)
        return spoken

    async def answer(after: float) -> float | None:
        heard = await p.wait_bot_speech(since=after, timeout=10)
        script.replies.append(heard)
        if heard is None:
            say("participant heard no answer")
        else:
            say(f"participant hears the bot answer ({heard - after:.2f} s after the turn)")
        return heard

    _, end = await turn("hello", "Hello there, can you hear me clearly?")
    if await answer(end) is not None:
        await p.wait_bot_quiet(quiet_secs=0.8, timeout=15)
    _, end = await turn("story", "Please tell me a long story about the sea ...")
    if await answer(end) is not None:
        await asyncio.sleep(1.0)  # let the bot talk for a while, then talk over it
    script.talk_over = start, end = await turn("stop", "Sorry, please stop for a moment.")
    silent = silence_after(p.heard, start)
    if silent is not None:
        say(f"the bot fell silent {silent:.2f} s after the participant began talking over it")
    if await answer(end) is not None:
        await p.wait_bot_quiet(quiet_secs=0.8, timeout=15)
    return script


async def run_demo(out: Path) -> bool:
    """Run the whole offline conversation and write the report into ``out``.

    Returns:
        Whether every check in the report passed.

    """
    out.mkdir(parents=True, exist_ok=True)
    say = Progress()
    server = await asyncio.to_thread(LocalStreamServer().start)
    say(f"local GetStream-compatible server at {server.base_url}")
    bot_task: asyncio.Task[None] | None = None
    participant: SimulatedParticipant | None = None
    in_call = False
    bot: OfflineBot | None = None
    try:
        call_id = f"example-{int(time.time())}"
        bot = build_bot(
            base_url=server.base_url,
            api_key=server.api_key,
            api_secret=server.api_secret,
            call_type=CALL_TYPE,
            call_id=call_id,
            user_id=BOT_ID,
        )
        watch = watch_bot(bot.transport, say)
        bot_started = time.monotonic()
        bot_task = asyncio.create_task(run_pipeline(bot.task, handle_sigint=False))
        await asyncio.wait_for(watch.connected.wait(), 30)
        bot.publisher.start()

        participant = SimulatedParticipant(
            server,
            call_type=CALL_TYPE,
            call_id=call_id,
            user_id=PARTICIPANT_ID,
            bot_id=BOT_ID,
            on_custom=lambda e: _show_event(e, say),
        )
        in_call = True
        await participant.join()
        say(f"participant '{PARTICIPANT_ID}' joined in {participant.join_secs:.2f} s")
        await asyncio.wait_for(watch.hears_participant.wait(), 15)
        bot.publisher.publish(bot.agent.state)  # tell the newcomer what the bot is doing
        await participant.send_event({"type": "greeting", "text": "hi from the participant"})
        script = await converse(participant, say)
        ended = time.monotonic()
        in_call = False
        await participant.leave()
        say("participant left; stopping the bot")
        await bot.task.queue_frame(EndFrame())
        await asyncio.wait_for(asyncio.shield(bot_task), 20)
    finally:
        if participant is not None and in_call:
            await _quietly(participant.leave())
        if bot is not None:
            await bot.publisher.stop()
            if bot_task is not None and not bot_task.done():
                await _quietly(bot.task.cancel())
                await _quietly(asyncio.wait_for(bot_task, 10))
        await asyncio.to_thread(server.stop)

    report = build_report(bot, participant, watch, script, bot_started, ended, out, say.t0)
    print(write_report(out, report), flush=True)
    return bool(report["ok"])


def build_report(
    bot: OfflineBot,
    participant: SimulatedParticipant,
    watch: BotWatch,
    script: Script,
    bot_started: float,
    ended: float,
    out: Path,
    t_start: float,
) -> dict[str, Any]:
    """Collect the figures, write the audio and the timeline, and check the results."""
    p = bot.publisher
    agent = bot.agent.stats
    heard, spoken = participant.heard, participant.spoken
    t0 = participant.joined_at or t_start
    states = [
        (t, e["custom"]["state"])
        for t, e in participant.custom_events
        if isinstance(e.get("custom"), dict) and e["custom"].get("type") == "agent_state"
    ]
    talk_over_at = script.talk_over[0] if script.talk_over else None
    silence = silence_after(heard, talk_over_at) if talk_over_at is not None else None
    reaction = None
    if talk_over_at is not None:
        later = [t for t in agent.interruptions if t >= talk_over_at]
        reaction = later[0] - talk_over_at if later else None
    first_reply = script.replies[0] if script.replies else None
    latency = first_reply - script.turns[0][1] if first_reply and script.turns else None
    files = {
        "heard_wav": "heard.wav",
        "conversation_wav": "conversation.wav",
        "timeline_png": "timeline.png",
    }
    write_audio(out, heard, spoken, t0, ended)
    seen_states = sorted({s for _, s in states})
    report: dict[str, Any] = {
        "mode": "offline",
        "versions": {
            "python": platform.python_version(),
            "pipecat": version("pipecat-ai"),
            "getstream": version("getstream"),
        },
        "runtime_s": round(time.monotonic() - t_start, 2),
        "join": {
            "bot_s": _round(watch.connected_at - bot_started if watch.connected_at else None),
            "participant_s": _round(participant.join_secs),
        },
        "turns": {
            "spoken": len(script.turns),
            "heard": agent.turns_heard,
            "answered": agent.turns_answered,
            "bot_replies_heard": len(speech_segments(heard)),
            "first_reply_latency_s": _round(latency),
        },
        "interruption": {
            "detected": bool(agent.interruptions) and silence is not None,
            "count": len(agent.interruptions),
            "bot_reaction_s": _round(reaction),
            "silence_after_s": _round(silence),
        },
        "custom_events": {
            "seen_by_participant": len(states),
            "others_seen_by_participant": len(participant.custom_events) - len(states),
            "states_seen": seen_states,
            "sequence": [s for _, s in states],
            "sent_by_bot": len(p.sent),
            "seen_by_bot": len(watch.custom_events),
        },
        "files": files,
    }
    problems = check(report)
    report["ok"], report["problems"] = not problems, problems
    title = f"{report['turns']['heard']} turns heard, {report['turns']['answered']} answered; " + (
        f"bot silent {silence:.2f} s after being talked over" if silence else "no interruption"
    )
    draw_timeline(
        out / files["timeline_png"],
        heard=heard,
        spoken=spoken,
        t0=t0,
        t1=ended,
        states=states,
        turns=[start for start, _ in script.turns],
        interruption=None
        if talk_over_at is None
        else (
            talk_over_at,
            talk_over_at + reaction if reaction is not None else None,
            talk_over_at + silence if silence is not None else None,
        ),
        title=title,
    )
    return report


def check(report: dict[str, Any]) -> list[str]:
    """What a person would call wrong in the report (empty when all is well)."""
    problems = []
    turns, intr = report["turns"], report["interruption"]
    if turns["heard"] < turns["spoken"]:
        problems.append(f"the bot heard {turns['heard']} of {turns['spoken']} turns")
    if turns["answered"] < 1 or turns["bot_replies_heard"] < 1:
        problems.append("no answer from the bot was heard")
    if not intr["detected"]:
        speaking = "speaking" if intr["silence_after_s"] is not None else "not audibly speaking"
        problems.append(
            f"the interruption was not detected ({intr['count']} seen by the bot;"
            f" the bot was {speaking} when talked over)"
        )
    elif intr["silence_after_s"] > 1.5:
        problems.append(f"the bot took {intr['silence_after_s']} s to fall silent")
    missing = {"listening", "thinking", "speaking"} - set(report["custom_events"]["states_seen"])
    if missing:
        problems.append(f"state events not seen: {', '.join(sorted(missing))}")
    if report["custom_events"]["seen_by_bot"] < 1:
        problems.append("the bot did not get the participant's custom event")
    return problems


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _show_event(event: dict[str, Any], say: Progress) -> None:
    custom = event.get("custom") or {}
    if custom.get("type") == "agent_state":
        say(f"participant sees bot state: {custom.get('state')}")


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception as exc:
        logger.debug(f"during shutdown: {exc!r}")
