"""Default call settings, egress and ingress blocks of a ``CallResponse``."""

from __future__ import annotations

from typing import Any


def _layout() -> dict[str, Any]:
    return {"name": "spotlight", "external_app_url": "", "external_css_url": ""}


def call_settings(call_type: str) -> dict[str, Any]:
    """Return the ``CallSettingsResponse`` of a call type's defaults.

    Args:
        call_type: One of the call types the server accepts.

    Returns:
        The settings JSON (video off by default for ``audio_room``).

    """
    video_on = call_type != "audio_room"
    return {
        "audio": {
            "access_request_enabled": False,
            "default_device": "speaker",
            "hifi_audio_enabled": False,
            "mic_default_on": True,
            "opus_dtx_enabled": True,
            "redundant_coding_enabled": True,
            "speaker_default_on": True,
        },
        "backstage": {"enabled": call_type in ("audio_room", "livestream")},
        "broadcasting": {
            "enabled": call_type == "livestream",
            "hls": {
                "auto_on": False,
                "enabled": False,
                "quality_tracks": ["720p"],
                "layout": _layout(),
            },
            "rtmp": {"enabled": False, "quality": "720p", "layout": _layout()},
        },
        "encryption": {"mode": "disabled"},
        "frame_recording": {"capture_interval_in_seconds": 3, "mode": "disabled"},
        "geofencing": {"names": []},
        "individual_recording": {"mode": "disabled"},
        "limits": {"max_participants_exclude_roles": []},
        "raw_recording": {"mode": "disabled"},
        "recording": {
            "audio_only": False,
            "mode": "available",
            "quality": "720p",
            "layout": _layout(),
        },
        "ring": {
            "auto_cancel_timeout_ms": 30000,
            "incoming_call_timeout_ms": 15000,
            "missed_call_timeout_ms": 15000,
        },
        "screensharing": {"access_request_enabled": False, "enabled": True},
        "session": {"inactivity_timeout_seconds": 30},
        "thumbnails": {"enabled": False},
        "transcription": {
            "closed_caption_mode": "disabled",
            "language": "auto",
            "mode": "disabled",
        },
        "video": {
            "access_request_enabled": False,
            "camera_default_on": video_on,
            "camera_facing": "front",
            "enabled": video_on,
            "target_resolution": {"width": 1280, "height": 720, "bitrate": 1500000},
        },
    }


def egress() -> dict[str, Any]:
    """Return an idle ``EgressResponse``."""
    return {"broadcasting": False, "rtmps": []}


def ingress() -> dict[str, Any]:
    """Return a ``CallIngressResponse`` with no ingress addresses."""
    return {"rtmp": {"address": ""}, "srt": {"address": ""}, "whip": {"address": ""}}
