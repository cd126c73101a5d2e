"""Prometheus metrics of one agent server, in a registry of its own (never the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

#: Start-to-joined buckets (seconds): a local join takes tens of milliseconds, a cloud one
#: a few hundred, a struggling one seconds.
JOIN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
#: Session duration buckets (seconds): from a minute to hours.
DURATION_BUCKETS = (10.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0)


class RunnerMetrics:
    """The server's sessions, webhooks and readiness as Prometheus metrics.

    Attributes:
        registry: The collector registry ``/metrics`` exposes.
        active: Live sessions (``pipecat_getstream_sessions_active``): the autoscaling signal.
        capacity: Live sessions the process accepts at most.
        started: Sessions started, by source (``api``, a webhook event type).
        ended: Sessions ended, by reason.
        failed: Sessions whose bot raised, never joined, or had to be cancelled.
        refused: Start requests refused, by reason (``capacity``, ``call``, ``draining``).
        webhooks: Webhook deliveries, by outcome.
        reconnects: Reconnections of bots' transports.
        join_seconds: Seconds from a start request to the bot in the call.
        duration_seconds: Session durations.
        ready: 1 while the server takes sessions.

    """

    def __init__(self, max_sessions: int) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        prefix = "pipecat_getstream"
        self.active = Gauge(f"{prefix}_sessions_active", "Live sessions", registry=self.registry)
        self.capacity = Gauge(
            f"{prefix}_sessions_capacity", "Live sessions accepted at most", registry=self.registry
        )
        self.capacity.set(max_sessions)
        self.started = Counter(
            f"{prefix}_sessions_started", "Sessions started", ["source"], registry=self.registry
        )
        self.ended = Counter(
            f"{prefix}_sessions_ended", "Sessions ended", ["reason"], registry=self.registry
        )
        self.failed = Counter(
            f"{prefix}_sessions_failed", "Sessions that failed", registry=self.registry
        )
        self.refused = Counter(
            f"{prefix}_sessions_refused", "Starts refused", ["reason"], registry=self.registry
        )
        self.webhooks = Counter(
            f"{prefix}_webhooks", "Webhook deliveries", ["outcome"], registry=self.registry
        )
        self.reconnects = Counter(
            f"{prefix}_reconnects", "Bot transport reconnections", registry=self.registry
        )
        self.join_seconds = Histogram(
            f"{prefix}_session_join_seconds",
            "Seconds from a start request to the bot in the call",
            buckets=JOIN_BUCKETS,
            registry=self.registry,
        )
        self.duration_seconds = Histogram(
            f"{prefix}_session_duration_seconds",
            "Session durations",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.ready = Gauge(f"{prefix}_ready", "1 while taking sessions", registry=self.registry)

    def exposition(self) -> tuple[bytes, str]:
        """The registry in Prometheus' text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
