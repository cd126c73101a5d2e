"""The join page in a real browser: a person with a WAV microphone talks to a Pipecat bot.

Headless Chromium (``tests/browser/conftest.py``) opens the page the local server serves, joins
the call and meets a real ``GetstreamTransport`` bot (SDK 7.x or 6.1.1, whichever the venv has).
What the page plays is measured inside the page, with a WebAudio analyser on the bot's audio.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
import uuid
import wave
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jwt
import pytest
from pipecat.frames.frames import (
    OutputAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from tests.e2e.bot import Bot, wait_until

from pipecat_getstream.pipeline.captions import sdk_supports_captions
from pipecat_getstream.pipeline.frames import InterruptionFrame
from pipecat_getstream.testing import SimulatedParticipant
from pipecat_getstream.testing.server.join_page import join_url
from pipecat_getstream.testing.signals import dominant_frequency, rms, tone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

#: The person's microphone (the WAV Chromium plays) and the bot's voice.
MIC_HZ = 660.0
BOT_HZ = 440.0
OTHER_HZ = 880.0

#: In-page: the strongest frequency and the level (RMS, 0..1) of what the page plays for
#: ``userId``, from an analyser on that participant's <audio> element's stream.
PLAYED_JS = """(userId) => {
  const audio = document.querySelector(`.tile[data-user-id="${userId}"] audio`);
  if (!audio || !audio.srcObject || audio.paused) return null;
  if (!window.__heard || window.__heard.stream !== audio.srcObject) {
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 4096;
    context.createMediaStreamSource(audio.srcObject).connect(analyser);
    window.__heard = {stream: audio.srcObject, context, analyser};
  }
  const {context, analyser} = window.__heard;
  const wave = new Float32Array(analyser.fftSize);
  analyser.getFloatTimeDomainData(wave);
  const level = Math.sqrt(wave.reduce((sum, x) => sum + x * x, 0) / wave.length);
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let peak = 1;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[peak]) peak = i;
  return {level, peakHz: peak * context.sampleRate / analyser.fftSize};
}"""


#: In-page: the streams received (by track lookup prefix) and the people with their prefixes.
SEEN_JS = """() => JSON.stringify({
  streams: [...joinPage.media].map(([prefix, types]) => [prefix, Object.keys(types)]),
  people: [...joinPage.people.values()].map(
    (p) => [p.user_id, p.track_lookup_prefix, p.published_tracks]),
})"""


def new_call() -> str:
    return f"page-{uuid.uuid4().hex[:10]}"


def reasons_left(bot: Bot, user_id: str) -> list[str]:
    return [args[1] for args in bot.fired("on_participant_left") if args[0] == user_id]


async def open_page(browser_page: Any, server: Any, call_id: str, query: str = "") -> Any:
    page = await browser_page(wav_freq=MIC_HZ)
    await page.goto(join_url(server.base_url, "default", call_id) + query)
    return page


async def join(page: Any, user_id: str) -> str:
    """Fill in the name, press Join and return the state the page settles in."""
    await page.fill("#user-id", user_id)
    await page.click("#join")
    await page.wait_for_function(
        "['joined', 'error'].includes(document.body.dataset.state)", timeout=30000
    )
    state = await page.evaluate("document.body.dataset.state")
    if state != "joined":
        error = await page.text_content("#error")
        raise AssertionError(f"the page did not join: {error}\n{page.console_lines}")
    assert await page.is_hidden("#lobby") and await page.is_visible("#room")
    return state


async def played(page: Any, user_id: str) -> dict[str, float] | None:
    return await page.evaluate(PLAYED_JS, user_id)


async def wait_page(
    page: Any, predicate: Any, timeout: float, what: str, user_id: str = "pipecat-bot"
) -> None:
    """Poll the page's measurement of ``user_id``'s audio until ``predicate`` holds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await played(page, user_id)
        if last is not None and predicate(last):
            return
        await page.wait_for_timeout(100)
    seen = await page.evaluate(SEEN_JS)
    raise AssertionError(
        f"{what}: not within {timeout}s (last {last}); {seen}; {page.console_lines}"
    )


def heard_hz(bot: Bot, user_id: str) -> float:
    rate = max(bot.probe.audio_rates)
    samples = bot.probe.samples(user_id)[-rate:]
    return dominant_frequency(samples, rate)


async def test_a_person_talks_with_the_bot_and_meets_another_participant(
    local_server, browser_page
):
    call_id = new_call()
    async with (
        Bot(local_server, call_id, closed_captions=True) as bot,
        SimulatedParticipant(local_server, call_id, "dave") as dave,
    ):
        await dave.start_camera(320, 240)
        page = await open_page(browser_page, local_server, call_id)
        await join(page, "alice")

        # The bot hears the person: their user id, their microphone's tone.
        await wait_until(lambda: "alice" in bot.transport.get_participants(), timeout=15)
        await wait_until(lambda: len(bot.probe.samples("alice")) >= 2 * 16000, timeout=20)
        await wait_until(lambda: abs(heard_hz(bot, "alice") - MIC_HZ) < 15, timeout=10)
        assert rms(bot.probe.samples("alice")[-8000:]) > 300

        # The page lists everyone, shows dave's camera, and dave's SDK hears the person.
        for user_id in ("pipecat-bot", "dave", "alice"):
            await page.wait_for_selector(f'#people li[data-user-id="{user_id}"]', timeout=10000)
        await page.wait_for_function(
            """() => {
              const video = document.querySelector('.tile[data-user-id="dave"] video');
              return video !== null && video.videoWidth > 0;
            }""",
            timeout=15000,
        )
        since = await dave.wait_for_sound("alice", timeout=15)
        await asyncio.sleep(1.0)
        assert abs(dave.recording("alice").dominant_frequency(since) - MIC_HZ) < 15

        # The page plays what the bot says, and shows who speaks.
        await bot.say(tone(BOT_HZ, 20.0, rate=16000))
        await wait_page(
            page,
            lambda m: m["level"] > 0.05 and abs(m["peakHz"] - BOT_HZ) < 20,
            timeout=15,
            what="the page plays the bot's tone",
        )
        await page.wait_for_selector(
            '#people li.speaking[data-user-id="pipecat-bot"]', timeout=5000
        )
        await page.wait_for_selector('#people li.speaking[data-user-id="alice"]', timeout=5000)
        assert await page.locator('#people li.speaking[data-user-id="dave"]').count() == 0

        # An interruption silences it.
        await bot.task.queue_frame(InterruptionFrame())
        await wait_page(page, lambda m: m["level"] < 0.005, timeout=5, what="interrupted")
        await page.wait_for_timeout(1000)
        quiet = await played(page, "pipecat-bot")
        assert quiet is not None and quiet["level"] < 0.005, quiet

        # The agent's custom events appear, and its captions (SDKs that post them).
        await bot.transport.send_custom_event({"type": "hint", "text": "say hello"})
        event = page.locator("#events li", has_text="say hello")
        await event.wait_for(timeout=10000)
        assert await event.get_attribute("data-user-id") == "pipecat-bot"
        if sdk_supports_captions():
            speech = tone(BOT_HZ, 1.0, rate=16000)
            for frame in [
                TTSStartedFrame(),
                OutputAudioRawFrame(speech.tobytes(), 16000, 1),
                TTSTextFrame("Hello", "word"),
                TTSTextFrame("there.", "word"),
                TTSStoppedFrame(),
            ]:
                await bot.task.queue_frame(frame)
            caption = page.locator("#captions li", has_text="Hello there.")
            await caption.wait_for(timeout=15000)
            assert await caption.get_attribute("data-speaker-id") == "pipecat-bot"

        # The camera reaches the SFU as the person's video track.
        alice = next(
            s for s in local_server.sessions("default", call_id) if s["user_id"] == "alice"
        )
        assert {"TRACK_TYPE_AUDIO", "TRACK_TYPE_VIDEO"} <= set(alice["published"])
        assert alice["frames_received"].get("TRACK_TYPE_VIDEO", 0) > 0

        # Muting: the bot hears no more of the tone (Chromium may send nothing at all), the
        # page stops showing the person speaking; unmuting brings the tone back.
        await page.click("#mute")
        assert await page.get_attribute("#mute", "aria-pressed") == "true"
        muted_at = len(bot.probe.samples("alice"))
        await page.wait_for_selector(
            '#people li[data-user-id="alice"]:not(.speaking)', timeout=5000
        )
        await asyncio.sleep(1.5)
        assert rms(bot.probe.samples("alice")[muted_at + 8000 :]) < 50
        await page.click("#mute")
        unmuted_at = len(bot.probe.samples("alice"))
        await wait_until(
            lambda: rms(bot.probe.samples("alice")[unmuted_at:][-4000:]) > 300, timeout=10
        )

        # Leaving: the bot sees the person leave, for reason "left".
        await page.click("#leave")
        await wait_until(lambda: reasons_left(bot, "alice") == ["left"], timeout=15)
        state = await page.evaluate("document.body.dataset.state")
        assert state == "left", (await page.text_content("#error"), page.console_lines)


def user_token(server: Any, user_id: str, **claims: Any) -> str:
    return jwt.encode({"user_id": user_id, **claims}, server.api_secret, algorithm="HS256")


async def test_a_bad_or_expired_token_gets_a_clear_message(local_server, browser_page):
    call_id = new_call()
    expired = datetime.now(timezone.utc) - timedelta(hours=1)
    cases = [
        (user_token(local_server, "carol", exp=expired), "token has expired"),
        (jwt.encode({"user_id": "carol"}, "not-the-secret", algorithm="HS256"), "signature"),
        ("garbage", "JWTAuth error"),
    ]
    page = await browser_page(wav_freq=MIC_HZ)
    for token, message in cases:
        await page.goto(join_url(local_server.base_url, "default", call_id) + f"?token={token}")
        await page.fill("#user-id", "carol")
        await page.click("#join")
        await page.wait_for_function("document.body.dataset.state === 'error'", timeout=20000)
        text = await page.text_content("#error")
        assert "Your token was refused" in text and message in text, (token, text)
    assert "carol" not in local_server.participants("default", call_id)


ROOT = Path(__file__).resolve().parents[2]
CLOUD_KEYS = ("STREAM_API_KEY", "STREAM_API_SECRET", "DEEPGRAM_API_KEY", "GOOGLE_API_KEY")


def speech_wav(folder: Path) -> Path:
    """``assets/hello.wav`` then 2.5 s of silence: Chromium loops it, so the person pauses."""
    with wave.open(str(ROOT / "assets" / "hello.wav"), "rb") as source:
        params, frames = source.getparams(), source.readframes(source.getnframes())
    path = folder / "hello-pause.wav"
    with wave.open(str(path), "wb") as out:
        out.setparams(params)
        out.writeframes(frames + b"\0" * (params.sampwidth * int(params.framerate * 2.5)))
    return path


async def test_example_serve_prints_a_page_where_a_person_talks_to_the_echo_bot(
    browser_page, tmp_path
):
    env = {**os.environ, **{key: "" for key in CLOUD_KEYS}}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "example.py",
        "--serve",
        "--no-browser",
        "--call-id",
        "browser-test",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output: list[str] = []
    try:
        url = None
        while url is None:
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, f"example.py --serve ended:\n{''.join(output)}"
            output.append(line.decode())
            found = re.search(r"join page\s+(http://\S+)", output[-1])
            url = found.group(1) if found else None
        assert url.endswith("/join/default/browser-test")

        page = await browser_page(wav=speech_wav(tmp_path))
        await page.goto(url)
        await join(page, "alice")
        # The echo agent says back what it heard and publishes its state as custom events.
        await page.locator("#events li", has_text="speaking").first.wait_for(timeout=30000)
        await wait_page(page, lambda m: m["level"] > 0.02, timeout=15, what="the bot's echo")
        await page.click("#leave")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)
    rest = (await proc.stdout.read()).decode()
    assert "Stopped." in rest, "".join(output) + rest
