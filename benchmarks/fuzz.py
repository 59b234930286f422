"""Benchmark: schemathesis over every operation, more examples than CI, random seeds.

The same engine as ``tests/reliability/test_fuzz.py`` (real app, PostgreSQL,
tokens of a team member, an organiser, an admin and none, seeded ids), with
``--examples`` per operation and non-deterministic generation, so each run
explores new inputs. Prints the request count and status spread; exits 1 with
the failing example on a 5xx or an error without a JSON ``message``.

    eval "$(scripts/services)"
    .venv/bin/python benchmarks/fuzz.py                  # 500 examples per operation
    .venv/bin/python benchmarks/fuzz.py --examples 2000

Needs PODIUM_TEST_POSTGRES_URL (a fresh database is created and dropped).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from backend.config import Settings  # noqa: E402
from backend.db import make_engine, make_session_factory  # noqa: E402
from backend.jobs import RecordingJobQueue  # noqa: E402
from backend.main import create_app  # noqa: E402
from tests.fixtures.database import PostgresDatabases  # noqa: E402
from tests.reliability.fuzzing import fuzz_app  # noqa: E402
from tests.reliability.seed import seed_challenge  # noqa: E402

SECRET = "fuzz-benchmark-secret-key-long-enough-0123456789"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="per operation")
    args = parser.parse_args()
    admin_url = os.environ.get("PODIUM_TEST_POSTGRES_URL")
    if not admin_url:
        sys.exit('PODIUM_TEST_POSTGRES_URL is unset: run eval "$(scripts/services)" first')
    databases = PostgresDatabases(admin_url)
    engine = make_engine(databases.new())
    try:
        with tempfile.TemporaryDirectory(prefix="podium-fuzz-") as tmp:
            settings = Settings(
                environment="test",
                secret_key=SECRET,
                data_root=Path(tmp) / "data",
                max_upload_bytes=8 * 1024 * 1024,
                log_json=False,
                log_level="CRITICAL",
            )
            factory = make_session_factory(engine)
            app = create_app(
                settings,
                session_factory=factory,
                job_queue=RecordingJobQueue(),
                configure_logs=True,  # at CRITICAL: thousands of request lines are noise here
            )
            with TestClient(app, raise_server_exceptions=False) as client, factory() as session:
                seeded = seed_challenge(client, session, settings)
            actors = {
                who: seeded.headers(who)
                for who in ("participant", "organiser", "admin", "anonymous")
            }
            started = time.perf_counter()
            report = fuzz_app(
                app,
                actors=actors,
                ids=seeded.ids,
                max_examples=args.examples,
                derandomize=False,
            )
            elapsed = time.perf_counter() - started
        print(report.summary())
        print(f"{elapsed:.0f} s, {report.requests / elapsed:.0f} requests/s; no 5xx")
    finally:
        engine.dispose()
        databases.drop_all()


if __name__ == "__main__":
    main()
