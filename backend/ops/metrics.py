"""A Prometheus collector that reads the submission table at scrape time.

Counting from the database (rather than counters kept in memory) gives the same
answer from every API replica and survives restarts; the Redis queue length is
read from the broker when Celery is the job backend.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence

import redis
import structlog
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.ops import repository
from backend.ops.instruments import DURATION_BUCKETS
from backend.submissions.lifecycle import CONTAINER_RUNNING, WAITING

log = structlog.get_logger(__name__)


def histogram_buckets(
    values: Sequence[float], bounds: Sequence[float] = DURATION_BUCKETS
) -> list[tuple[str, float]]:
    """Cumulative ``(le, count)`` pairs for ``values``, ending with ``+Inf``.

    Examples
    --------
    >>> histogram_buckets([0.2, 3.0, 3.0, 9000.0], bounds=[1.0, 5.0])
    [('1.0', 1.0), ('5.0', 3.0), ('+Inf', 4.0)]
    """
    ordered = sorted(values)
    pairs = [(str(float(b)), float(bisect.bisect_right(ordered, b))) for b in bounds]
    return [*pairs, ("+Inf", float(len(ordered)))]


def broker_queue_length(broker_url: str, queue: str) -> int:
    """Messages waiting in a Redis-backed Celery queue (``LLEN``; raises if unreachable)."""
    client = redis.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        return int(client.llen(queue))
    finally:
        client.close()


class DatabaseCollector(Collector):
    """Submission gauges and the stored-runtime histogram, computed per scrape."""

    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self._session_factory = session_factory
        self._settings = settings

    def collect(self) -> Iterator[Metric]:
        """Yield every metric; a database that does not answer shows as ``podium_database_up 0``."""
        up = GaugeMetricFamily("podium_database_up", "1 when the database answered this scrape.")
        try:
            with self._session_factory() as session:
                counts = repository.submissions_by_status(session)
                runtimes = repository.finished_runtimes(session)
        except Exception as exc:
            log.warning("metrics.database_unavailable", error=str(exc).splitlines()[0])
            up.add_metric([], 0.0)
            yield up
            yield from self._broker()
            return
        up.add_metric([], 1.0)
        yield up
        by_state = GaugeMetricFamily(
            "podium_submissions", "Submissions in each state.", labels=["state"]
        )
        for status, count in counts.items():
            by_state.add_metric([status.value], float(count))
        yield by_state
        yield GaugeMetricFamily(
            "podium_queue_length",
            "Submissions waiting for a worker (queued).",
            value=float(sum(counts[s] for s in WAITING)),
        )
        yield GaugeMetricFamily(
            "podium_running_containers",
            "Submissions whose container is running (pre-flight or the hidden cases).",
            value=float(sum(counts[s] for s in CONTAINER_RUNNING)),
        )
        yield HistogramMetricFamily(
            "podium_submission_runtime_seconds",
            "Stored run times of finished submissions, from the start of the run to its end.",
            buckets=histogram_buckets(runtimes),
            sum_value=float(sum(runtimes)),
        )
        yield from self._broker()

    def _broker(self) -> Iterator[Metric]:
        if self._settings.job_backend != "celery":
            return
        queue = self._settings.evaluation_queue
        try:
            length = broker_queue_length(self._settings.broker_url, queue)
        except Exception as exc:
            log.warning("metrics.broker_unavailable", error=str(exc).splitlines()[0])
            return
        gauge = GaugeMetricFamily(
            "podium_broker_queue_length",
            "Messages waiting in the broker's evaluation queue.",
            labels=["queue"],
        )
        gauge.add_metric([queue], float(length))
        yield gauge
