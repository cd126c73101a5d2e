"""Turning a recorded conversation into files a person can check.

``report.json`` (figures), ``report.txt`` (the same, for people), ``heard.wav``
(what the participant heard from the bot), ``conversation.wav`` (both sides on
one clock: left the participant, right the bot) and ``timeline.png``.
"""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import numpy as np

from examples.offline.participant import LOUD_RMS, Track, rms

#: Pauses shorter than this stay inside one stretch of speech.
MAX_PAUSE_SECS = 0.35
_WAV_RATE = 16000
_STATE_COLOURS = {"listening": "#d9ead3", "thinking": "#fff2cc", "speaking": "#cfe2f3"}


def speech_segments(track: Track, max_pause: float = MAX_PAUSE_SECS) -> list[tuple[float, float]]:
    """Stretches of speech in a track, as ``(start, end)`` monotonic times."""
    segments: list[tuple[float, float]] = []
    for end, samples in track.chunks:
        if rms(samples) <= LOUD_RMS:
            continue
        start = end - len(samples) / track.rate
        if segments and start - segments[-1][1] <= max_pause:
            segments[-1] = (segments[-1][0], end)
        else:
            segments.append((start, end))
    return segments


def silence_after(heard: Track, talk_over_at: float) -> float | None:
    """Seconds from ``talk_over_at`` to the end of the bot speech it fell on.

    Returns ``None`` when the bot was not speaking at that moment.
    """
    for start, end in speech_segments(heard):
        if start <= talk_over_at <= end:
            return end - talk_over_at
    return None


def _resample_linear(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    if rate == new_rate or samples.size == 0:
        return samples.astype(np.int16)
    n = int(len(samples) * new_rate / rate)
    x = np.linspace(0, len(samples) - 1, n)
    return np.interp(x, np.arange(len(samples)), samples).astype(np.int16)


def _on_clock(track: Track, t0: float, length: int) -> np.ndarray:
    """The track as one 16 kHz signal starting at ``t0``, each chunk where it arrived."""
    out = np.zeros(length, dtype=np.int16)
    for end, samples in track.chunks:
        part = _resample_linear(samples, track.rate, _WAV_RATE)
        stop = int((end - t0) * _WAV_RATE)
        start = stop - len(part)
        if stop <= 0 or start >= length:
            continue
        lo, hi = max(start, 0), min(stop, length)
        out[lo:hi] = part[lo - start : hi - start]
    return out


def write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> None:
    """Write int16 samples (interleaved when ``channels`` is 2) as a WAV file."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype(np.int16).tobytes())


def write_audio(out: Path, heard: Track, spoken: Track, t0: float, t1: float) -> None:
    """Write ``heard.wav`` and the two-sided ``conversation.wav``."""
    heard_samples = [s for _, s in heard.chunks]
    all_heard = np.concatenate(heard_samples) if heard_samples else np.zeros(0, np.int16)
    write_wav(out / "heard.wav", all_heard, heard.rate)
    length = max(0, int((t1 - t0) * _WAV_RATE))
    both = np.stack([_on_clock(spoken, t0, length), _on_clock(heard, t0, length)], axis=1)
    write_wav(out / "conversation.wav", both.reshape(-1), _WAV_RATE, channels=2)


def _envelope(track: Track, t0: float, t1: float, step: float = 0.02) -> np.ndarray:
    """Loudness (RMS) of a track in ``step``-second bins from ``t0`` to ``t1``."""
    levels = np.zeros(max(1, int((t1 - t0) / step)))
    for end, samples in track.chunks:
        i = int((end - t0) / step)
        if 0 <= i < len(levels):
            levels[i] = max(levels[i], rms(samples))
    return levels


def draw_timeline(
    path: Path,
    *,
    heard: Track,
    spoken: Track,
    t0: float,
    t1: float,
    states: list[tuple[float, str]],
    turns: list[float],
    interruption: tuple[float, float | None, float | None] | None,
    title: str,
) -> None:
    """Draw both speakers' audio level over time, the bot's states and the interruption.

    Args:
        path: The PNG to write.
        heard: The bot's audio as the participant heard it.
        spoken: The participant's own speech.
        t0: Time zero of the plot (monotonic seconds).
        t1: Right end of the plot.
        states: ``(time, state)`` custom events seen by the participant.
        turns: When each of the participant's turns began.
        interruption: When the participant began talking over the bot, when the
            bot noticed (or ``None``) and when its voice stopped (or ``None``).
        title: The figure's title.

    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_user, ax_bot) = plt.subplots(2, 1, figsize=(12, 4.8), sharex=True)
    step = 0.02
    for ax, track, name, colour in (
        (ax_user, spoken, "participant\n(said)", "#b45f06"),
        (ax_bot, heard, "bot\n(as heard)", "#0b5394"),
    ):
        levels = _envelope(track, t0, t1, step)
        ax.fill_between(np.arange(len(levels)) * step, 0, levels, step="pre", color=colour, lw=0)
        ax.set_ylabel(name)
        ax.set_yticks([])
        ax.set_ylim(0, 12000)
    bounds = [(t - t0, s) for t, s in states] + [(t1 - t0, "")]
    for (start, state), (end, _) in zip(bounds, bounds[1:], strict=False):
        ax_bot.axvspan(start, end, color=_STATE_COLOURS.get(state, "#eeeeee"), zorder=0)
    for state, colour in _STATE_COLOURS.items():
        ax_bot.plot([], [], color=colour, linewidth=8, label=f"bot state: {state}")
    for i, t in enumerate(turns):
        talks_over = interruption is not None and t == interruption[0]
        label = f"turn {i + 1}" + (": talks over the bot" if talks_over else "")
        ax_user.axvline(t - t0, color="#666666", linestyle=":", linewidth=1)
        ax_user.annotate(
            label, (t - t0, 11500), fontsize=8, va="top", xytext=(3, 0), textcoords="offset points"
        )
    if interruption is not None:
        talk_over = interruption[0] - t0
        noticed, silent = (None if t is None else t - t0 for t in interruption[1:])
        for ax in (ax_user, ax_bot):
            ax.axvline(talk_over, color="#cc0000", linestyle="--", linewidth=1)
        if noticed is not None:
            ax_bot.axvline(noticed, color="#cc0000", linestyle=":", linewidth=1)
        if silent is not None:
            ax_bot.axvspan(talk_over, silent, color="#cc0000", alpha=0.25, lw=0)
            ax_bot.annotate(
                f"talked over: silent after {silent - talk_over:.2f} s",
                (silent, 11500),
                fontsize=8,
                color="#cc0000",
                va="top",
                xytext=(3, 0),
                textcoords="offset points",
            )
    ax_bot.legend(loc="upper left", fontsize=7, ncol=3)
    ax_bot.set_xlabel("seconds since the participant joined")
    ax_bot.set_xlim(0, t1 - t0)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(out: Path, report: dict[str, Any]) -> str:
    """Write ``report.json`` and ``report.txt``; return the text."""
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    text = format_report(report, out.resolve())
    (out / "report.txt").write_text(text + "\n")
    return text


def _secs(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def format_report(r: dict[str, Any], out: Path) -> str:
    """The report as a few lines of text."""
    turns, intr, ev, files = r["turns"], r["interruption"], r["custom_events"], r["files"]
    verdict = "OK" if r["ok"] else "PROBLEMS: " + "; ".join(r["problems"])
    return "\n".join(
        [
            "── Offline conversation report ──",
            f"  Pipecat {r['versions']['pipecat']}, GetStream SDK {r['versions']['getstream']}",
            f"  join time        bot {_secs(r['join']['bot_s'])}, "
            f"participant {_secs(r['join']['participant_s'])}",
            f"  turns            {turns['spoken']} spoken, {turns['heard']} heard by the bot, "
            f"{turns['answered']} answered, {turns['bot_replies_heard']} bot replies heard",
            f"  reply latency    {_secs(turns['first_reply_latency_s'])} "
            "(end of the first turn to the bot's voice)",
            f"  interruption     {'detected' if intr['detected'] else 'NOT detected'}: "
            f"bot noticed after {_secs(intr['bot_reaction_s'])}, "
            f"fell silent {_secs(intr['silence_after_s'])} after the participant began",
            f"  custom events    participant saw {ev['seen_by_participant']} state events "
            f"({', '.join(ev['states_seen']) or 'none'}) and {ev['others_seen_by_participant']} "
            f"others (Pipecat's RTVI messages); bot saw {ev['seen_by_bot']}",
            f"  recording        {out / files['heard_wav']}",
            f"  both sides       {out / files['conversation_wav']} (left participant, right bot)",
            f"  timeline         {out / files['timeline_png']}",
            f"  runtime          {r['runtime_s']:.1f} s — {verdict}",
            "  talk to it       uv run example.py --serve (a join page opens in your browser)",
        ]
    )
