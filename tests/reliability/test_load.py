"""Load: 200 concurrent clients for 20 s against a real uvicorn process and PostgreSQL.

Uploads of small image tarballs (eight teams, a validation phase with a quota
of 4, one slot already used by a scored submission), status polls and
leaderboard reads. No 5xx and no transport error; every team ends with exactly
its quota accepted, never more; p50/p99 are printed (and recorded in
``docs/reliability.md``). Before the session-slot limit in ``backend.deps``
this stalled: every pool thread waited for a connection held by requests
waiting for a thread, and requests failed with 500 after 30 s. No worker
runs: jobs go to the embedded queue without a handler, so this is the API
alone (a worker pool under load is part of the worker's fault-injection tests).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.loadgen import (
    LoadReport,
    api_server,
    count_accepted,
    run_load,
    seed_load,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLIENTS = 200
DURATION_S = 20.0
TEAMS = 8
LIMIT = 4
#: Queueing at saturation on a shared 2-core machine: 200 closed-loop clients at 66-130
#: requests/s measured p99 6-11 s; the bound catches stalls (the pool deadlock ran to 30 s
#: per request), not a busy neighbour.
P99_BOUND_MS = 30_000


def _run_in_own_loop(coro: Coroutine[Any, Any, LoadReport]) -> LoadReport:
    """Run ``coro`` on a fresh event loop in its own thread.

    Playwright's sync API (the browser tests' session fixture) keeps an event loop
    running on the main thread, where ``asyncio.run`` refuses to start another.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_two_hundred_clients_get_no_5xx_and_exact_quotas(
    committing_postgres_url: str, tmp_path: Path
) -> None:
    seed = seed_load(committing_postgres_url, teams=TEAMS, limit=LIMIT)
    assert set(seed.used_before.values()) == {1}
    with api_server(committing_postgres_url, data_root=tmp_path / "data") as base:
        report = _run_in_own_loop(run_load(base, seed=seed, clients=CLIENTS, duration_s=DURATION_S))
    print()
    print(report.table())
    assert report.failures == [], (report.failures[:10], report.table())
    statuses = sum(report.statuses.values(), start=Counter())
    assert all(code < 500 for code in statuses), statuses
    assert report.requests > 2 * CLIENTS  # every client made several requests
    for kind in ("upload", "status", "board"):
        assert len(report.latencies[kind]) > CLIENTS // 10, kind
    # Exactly the quota: what the clients were told and what the database holds.
    expected = {team: LIMIT - seed.used_before[team] for team in seed.tokens}
    assert dict(report.accepted) == expected
    assert count_accepted(committing_postgres_url, phase_id=seed.phase_id) == dict.fromkeys(
        seed.tokens, LIMIT
    )
    assert report.statuses["upload"][429] > 0  # the quota was reached and defended
    stored = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert len(stored) == sum(expected.values())  # refused uploads left no file
    assert report.percentile(99) < P99_BOUND_MS, report.table()
