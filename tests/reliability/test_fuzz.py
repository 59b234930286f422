"""Schemathesis against the OpenAPI schema: 2,000+ requests, no 5xx, every error JSON.

The real app on the test's PostgreSQL transaction, with tokens of a team
member, an organiser, an admin and none, and real ids for about half of the
path parameters (see ``tests/reliability/fuzzing.py``). Deterministic
(derandomised) so a failure reproduces; ``benchmarks/fuzz.py`` runs more,
randomly.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.reliability.fuzzing import fuzz_app
from tests.reliability.seed import Seeded

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

#: Examples per operation: 38 operations, a few of which exhaust their space early.
MAX_EXAMPLES = 60
MIN_REQUESTS = 2000


def test_fuzzed_requests_never_get_a_server_error(app: FastAPI, seeded: Seeded) -> None:
    actors = {
        who: seeded.headers(who) for who in ("participant", "organiser", "admin", "anonymous")
    }
    report = fuzz_app(
        app, actors=actors, ids=seeded.ids, max_examples=MAX_EXAMPLES, derandomize=True
    )
    print(report.summary())
    assert report.requests >= MIN_REQUESTS, report.summary()
    assert report.operations >= 35  # the documented operations (docs pages excluded)
    assert len(report.per_operation) == report.operations  # every operation was called
    assert report.seeded_requests > report.requests // 8
    reached = sum(n for status, n in report.statuses.items() if status < 300)
    assert reached > 100, report.summary()  # deep enough to succeed, not only refusals


def test_an_id_beyond_the_database_range_is_a_422_not_a_500(
    client: TestClient, seeded: Seeded
) -> None:
    """Found by the fuzzer: ``/phases/173008386615844/cases`` crashed PostgreSQL's int4 cast."""
    for who in ("organiser", "participant"):
        response = client.get(
            "/api/v1/phases/173008386615844/submissions", headers=seeded.headers(who)
        )
        assert response.status_code == 422, response.text
        assert (
            "a value does not fit the database (integer out of range)"
            in (response.json()["message"])
        )
