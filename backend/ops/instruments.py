"""Process-wide Prometheus instruments that the evaluation code observes.

Only ``prometheus_client`` is imported here, so the worker can record into these
without touching the web layer. In the embedded mode the API process runs the
evaluations, so ``/metrics`` shows them; a Celery worker keeps its own copies.
"""

from __future__ import annotations

from prometheus_client import Histogram

#: Durations from seconds to the longest phase limits (hours).
DURATION_BUCKETS: tuple[float, ...] = (
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
    7200.0,
    14400.0,
)

CONTAINER_SECONDS = Histogram(
    "podium_container_seconds",
    "Seconds a participant container ran on the hidden cases (one observation per attempt).",
    buckets=DURATION_BUCKETS,
)
SCORING_SECONDS = Histogram(
    "podium_scoring_seconds",
    "Seconds spent scoring a submission's outputs (one observation per attempt).",
    buckets=DURATION_BUCKETS,
)


def observe_evaluation(*, container_s: float, scoring_s: float) -> None:
    """Record one evaluation attempt's container and scoring time (zeros are skipped).

    Parameters
    ----------
    container_s
        Seconds the container ran (0 when it never started).
    scoring_s
        Seconds spent scoring (0 when nothing was scored).
    """
    if container_s > 0:
        CONTAINER_SECONDS.observe(container_s)
    if scoring_s > 0:
        SCORING_SECONDS.observe(scoring_s)
