"""Benchmark: concurrent API clients against a real uvicorn process and PostgreSQL.

Uploads of small image tarballs under a quota, status polls and leaderboard
reads (see ``tests/reliability/loadgen.py``); prints requests, statuses and
p50/p99/max latency per kind, and checks the same properties as the CI test:
no 5xx or transport error, every team ends with exactly its quota.

    eval "$(scripts/services)"
    .venv/bin/python benchmarks/load.py                       # 200 clients, 60 s
    .venv/bin/python benchmarks/load.py --clients 400 --duration 120 --teams 20

Needs PODIUM_TEST_POSTGRES_URL (a fresh database is created and dropped). No
worker runs: this is the API alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.database import PostgresDatabases  # noqa: E402
from tests.reliability.loadgen import (  # noqa: E402
    api_server,
    count_accepted,
    run_load,
    seed_load,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--teams", type=int, default=8)
    parser.add_argument("--limit", type=int, default=4, help="the phase's quota")
    args = parser.parse_args()
    admin_url = os.environ.get("PODIUM_TEST_POSTGRES_URL")
    if not admin_url:
        sys.exit('PODIUM_TEST_POSTGRES_URL is unset: run eval "$(scripts/services)" first')
    databases = PostgresDatabases(admin_url)
    try:
        url = databases.new()
        seed = seed_load(url, teams=args.teams, limit=args.limit)
        with (
            tempfile.TemporaryDirectory(prefix="podium-load-") as tmp,
            api_server(url, data_root=Path(tmp)) as base,
        ):
            report = asyncio.run(
                run_load(base, seed=seed, clients=args.clients, duration_s=args.duration)
            )
        print(f"{args.clients} clients, {args.teams} teams, quota {args.limit}, PostgreSQL")
        print(report.table())
        accepted = count_accepted(url, phase_id=seed.phase_id)
        exact = accepted == dict.fromkeys(seed.tokens, args.limit)
        fives = sum(n for codes in report.statuses.values() for c, n in codes.items() if c >= 500)
        print(f"quota exact: {exact} (slots in use per team: {sorted(set(accepted.values()))})")
        print(f"5xx: {fives}; transport errors: {sum(c[0] for c in report.statuses.values())}")
        for failure in report.failures[:10]:
            print("  ", failure)
        if not exact or report.failures:
            sys.exit(1)
    finally:
        databases.drop_all()


if __name__ == "__main__":
    main()
