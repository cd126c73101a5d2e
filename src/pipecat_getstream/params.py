"""Transport parameters."""

from __future__ import annotations

from typing import Any

from pipecat.transports.base_transport import TransportParams
from pydantic import Field

from pipecat_getstream.call.validation import check_positive
from pipecat_getstream.errors import GetstreamConfigError


class GetstreamParams(TransportParams):
    """Parameters of :class:`~pipecat_getstream.transport.GetstreamTransport`.

    Extends Pipecat's ``TransportParams`` with this transport's defaults: audio in and out
    enabled at 16 kHz, video off. Every other ``TransportParams`` field keeps Pipecat's
    meaning (``video_out_width``/``video_out_height``, ``audio_out_10ms_chunks``, ...).

    Parameters
    ----------
        audio_in_enabled: Receive participants' audio. Default ``True``.
        audio_out_enabled: Send the bot's audio. Default ``True``.
        audio_in_sample_rate: Sample rate of ``UserAudioRawFrame`` in Hz. Default 16000.
        audio_out_sample_rate: Sample rate of the bot's audio track in Hz. Default 16000.
        video_in_enabled: Receive participants' camera video. Default ``False``.
        video_out_enabled: Send the bot's video. Default ``False``.
        video_out_framerate: Frames per second of the bot's video. Default 30.
        video_out_is_live: Send images as they arrive instead of pacing them. Default ``False``.
        audio_in_queue_frames: Input audio frames (20 ms each) buffered for a slow pipeline
            before the oldest are dropped. Default 100 (2 s).
        audio_out_lead_secs: Bot audio kept queued in the SDK track ahead of playout, which
            rides out event-loop stalls of that length. Interruptions drop it, so it adds
            nothing to interruption latency; Pipecat sees the bot stop speaking this much
            before the last audio is played. Raise it (0.2-0.3) when many calls share one
            process or the machine is busy. Default 0.08, range 0-2.
        video_in_sources: Pipecat's ``video_in_sources``: ``"camera"`` and/or
            ``"screenVideo"`` captured from every participant at the given rate (listing
            ``"screenVideo"`` subscribes to screen shares). Empty (default): every camera.
        video_out_destinations: ``["screenVideo"]`` also publishes a screen-share track;
            ``OutputImageRawFrame(transport_destination="screenVideo")`` goes there.
        audio_in_user_tracks: Receive each participant's audio as its own stream of
            ``UserAudioRawFrame`` tagged with their ``user_id`` (default ``True``). With
            ``False``, everyone's audio is mixed into one real-time stream of
            ``InputAudioRawFrame`` (what a pipeline with one VAD and one STT needs).
        closed_captions: Post the bot's spoken text (TTS text, per sentence, timed as it
            is played) and users' ``TranscriptionFrame`` that reach the output as the
            call's closed captions, which every Stream client can show. Posting never
            blocks the pipeline. Needs an SDK with ``send_closed_caption``. Default
            ``False``.

    """

    audio_in_enabled: bool = True
    audio_out_enabled: bool = True
    audio_in_sample_rate: int | None = 16000
    audio_out_sample_rate: int | None = 16000
    video_in_enabled: bool = False
    video_out_enabled: bool = False
    video_out_framerate: int = 30
    video_out_is_live: bool = False
    audio_in_queue_frames: int = 100
    audio_out_lead_secs: float = 0.08
    audio_in_user_tracks: bool = True
    closed_captions: bool = False
    if "video_in_sources" not in TransportParams.model_fields:
        # Pipecat before 1.x has no video_in_sources: the same field, so it means the same.
        video_in_sources: dict[str, Any] = Field(default_factory=dict)


def validate_params(params: GetstreamParams) -> None:
    """Reject parameter values the transport cannot work with.

    Raises:
        GetstreamConfigError: On non-positive rates, frame rates, sizes or queue lengths.

    """
    check_positive("audio_in_sample_rate", params.audio_in_sample_rate, allow_none=True)
    check_positive("audio_out_sample_rate", params.audio_out_sample_rate, allow_none=True)
    check_positive("video_out_framerate", params.video_out_framerate)
    check_positive("audio_in_queue_frames", params.audio_in_queue_frames)
    lead = params.audio_out_lead_secs
    if not isinstance(lead, (int, float)) or not 0 <= lead <= 2:
        raise GetstreamConfigError(f"audio_out_lead_secs must be between 0 and 2, got {lead!r}")
    if params.audio_out_channels not in (1, 2):
        raise GetstreamConfigError("audio_out_channels must be 1 or 2")
    unknown = set(params.video_out_destinations) - {"screenVideo"}
    if unknown:
        raise GetstreamConfigError(
            f"video_out_destinations can only hold 'screenVideo', got {sorted(unknown)}"
        )
    if params.video_out_enabled:
        check_positive("video_out_width", params.video_out_width)
        check_positive("video_out_height", params.video_out_height)
