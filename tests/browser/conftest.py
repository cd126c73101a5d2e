"""Chromium for the browser tests: Playwright driving Debian's ``/usr/bin/chromium``.

The machine has no browser download (never ``playwright install``): Playwright launches the
system Chromium through ``executable_path``, headless, with fake camera and microphone. The
microphone is a WAV file (Chromium loops it), so a test picks what the browser "says".

Fixtures:

* ``chromium_executable`` (session): the browser's path. Missing: the test fails when
  ``CI=true`` (CI must run browser tests, never skip them) and is skipped elsewhere.
* ``tone_wav`` (session): a factory ``tone_wav(freq_hz) -> Path`` of a loud 16-bit mono sine WAV
  (one per frequency, made once in a session tmp dir).
* ``chromium_browser``: a factory ``await chromium_browser(wav_freq=440.0)`` of launched
  browsers, one per distinct WAV (fake-capture flags are per launch), closed after the test.
  ``wav=<path>`` uses a WAV file of the test's own (speech, say) instead of a tone.
* ``browser_page``: a factory ``await browser_page(wav_freq=440.0)`` (or ``wav=<path>``) of
  pages, each in a fresh context of the browser for that WAV, camera and microphone granted;
  the page's console and errors are kept on ``page.console_lines`` for failure messages.

Every launch has a fresh profile (Playwright's own temporary user-data-dir). Playwright's async
objects belong to the event loop that made them and pytest-asyncio gives each test its own
loop, so browsers are per test (a launch takes about a second), not per session.

Example::

    @pytest.mark.browser
    async def test_page_talks(browser_page):
        page = await browser_page(wav_freq=523.0)
        await page.goto(url)
"""

from __future__ import annotations

import math
import os
import shutil
import struct
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

#: Where Debian's package puts the browser; ``CHROMIUM`` overrides it.
DEFAULT_CHROMIUM = "/usr/bin/chromium"

#: The flags of every launch: headless, no sandbox (containers), quiet (no background traffic,
#: no QUIC), fake media devices with the permission prompt accepted, and autoplay allowed so
#: the page plays remote audio without a click.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
)

#: Sample rate and length of the microphone WAV (Chromium loops it).
WAV_RATE = 48000
WAV_SECONDS = 4.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under ``tests/browser`` with ``browser``."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def find_chromium() -> str | None:
    """The Chromium executable (``$CHROMIUM``, ``/usr/bin/chromium`` or ``chromium`` on PATH)."""
    for candidate in (os.environ.get("CHROMIUM"), DEFAULT_CHROMIUM, shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """The browser's path; fails in CI when it is missing, skips elsewhere."""
    path = find_chromium()
    if path is not None:
        return path
    message = (
        f"Chromium not found (looked at $CHROMIUM, {DEFAULT_CHROMIUM} and PATH): "
        "install Debian's package (apt-get install chromium)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI runs the browser tests and never skips them", pytrace=False)
    pytest.skip(message)


def write_tone_wav(path: Path, freq_hz: float, seconds: float = WAV_SECONDS) -> Path:
    """Write a mono 16-bit sine at ``freq_hz`` (half full scale) to ``path``.

    The length is a whole number of cycles so Chromium's loop has no click.
    """
    cycles = max(1, round(freq_hz * seconds))
    frames = round(cycles * WAV_RATE / freq_hz)
    step = 2 * math.pi * freq_hz / WAV_RATE
    samples = struct.pack(f"<{frames}h", *(int(16000 * math.sin(step * i)) for i in range(frames)))
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(WAV_RATE)
        wav.writeframes(samples)
    return path


@pytest.fixture(scope="session")
def tone_wav(tmp_path_factory: pytest.TempPathFactory) -> Callable[[float], Path]:
    """A factory of tone WAVs by frequency, made once per session."""
    folder = tmp_path_factory.mktemp("browser-wav")
    made: dict[float, Path] = {}

    def make(freq_hz: float) -> Path:
        if freq_hz not in made:
            made[freq_hz] = write_tone_wav(folder / f"tone-{freq_hz:g}hz.wav", freq_hz)
        return made[freq_hz]

    return make


BrowserFactory = Callable[..., Awaitable[Any]]


@pytest_asyncio.fixture
async def chromium_browser(
    chromium_executable: str, tone_wav: Callable[[float], Path]
) -> AsyncIterator[BrowserFactory]:
    """A factory ``await chromium_browser(wav_freq=440.0)`` of launched browsers, one per WAV."""
    from playwright.async_api import async_playwright

    playwright = await async_playwright().start()
    browsers: dict[Path, Any] = {}

    async def launch(wav_freq: float = 440.0, wav: Path | None = None) -> Any:
        microphone = Path(wav) if wav is not None else tone_wav(wav_freq)
        if microphone not in browsers:
            browsers[microphone] = await playwright.chromium.launch(
                executable_path=chromium_executable,
                headless=True,
                args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={microphone}"],
            )
        return browsers[microphone]

    try:
        yield launch
    finally:
        for browser in browsers.values():
            await browser.close()
        await playwright.stop()


@pytest_asyncio.fixture
async def browser_page(chromium_browser: BrowserFactory) -> AsyncIterator[BrowserFactory]:
    """A factory ``await browser_page(wav_freq=440.0)`` of pages, each in a fresh context."""
    contexts: list[Any] = []

    async def make(wav_freq: float = 440.0, wav: Path | None = None, **context_options: Any) -> Any:
        browser = await chromium_browser(wav_freq=wav_freq, wav=wav)
        context = await browser.new_context(permissions=["microphone", "camera"], **context_options)
        contexts.append(context)
        page = await context.new_page()
        lines: list[str] = []
        page.on("console", lambda msg: lines.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda error: lines.append(f"pageerror: {error}"))
        page.console_lines = lines
        return page

    try:
        yield make
    finally:
        for context in contexts:
            await context.close()
