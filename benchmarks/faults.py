"""Benchmark: a pool of real Celery workers evaluating many submissions, some hostile.

The same run and checks as ``tests/reliability/test_worker_load.py`` at any size
(see ``tests/reliability/faults_load.py``): every submission terminal exactly
once, hostile containers (fork bomb, memory hog, network probe) classified as
the team's failure, the rest scored correctly, no container left. Prints the
throughput.

    eval "$(scripts/services)"
    .venv/bin/python benchmarks/faults.py                          # 2 workers, 60 submissions
    .venv/bin/python benchmarks/faults.py --workers 3 --submissions 120 --hostile-each 4

Needs PODIUM_TEST_POSTGRES_URL (a fresh database is created and dropped),
PODIUM_TEST_REDIS_URL and a Docker engine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import docker  # noqa: E402

from tests.fixtures.database import PostgresDatabases  # noqa: E402
from tests.reliability.faults_load import check_load, load_plan, run_pool_load  # noqa: E402
from tests.support.worker import make_context  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--submissions", type=int, default=60)
    parser.add_argument("--hostile-each", type=int, default=2, help="of each hostile kind")
    args = parser.parse_args()
    if args.submissions < 3 * args.hostile_each + 1 or args.workers < 1:
        sys.exit("need at least one worker and one well-behaved submission")
    admin_url = os.environ.get("PODIUM_TEST_POSTGRES_URL")
    redis_url = os.environ.get("PODIUM_TEST_REDIS_URL")
    if not admin_url or not redis_url:
        sys.exit('PODIUM_TEST_POSTGRES_URL/PODIUM_TEST_REDIS_URL unset: eval "$(scripts/services)"')
    databases = PostgresDatabases(admin_url)
    client = docker.from_env(timeout=120)
    try:
        with tempfile.TemporaryDirectory(prefix="podium-faults-") as tmp:
            context = make_context(
                database_url=databases.new(),
                data_root=Path(tmp) / "data",
                work_dir=Path(tmp) / "work",
                docker_client=client,
            )
            run = run_pool_load(
                context=context,
                docker_client=client,
                broker_url=redis_url,
                logs=Path(tmp),
                workers=args.workers,
                plan=load_plan(submissions=args.submissions, hostile_each=args.hostile_each),
                timeout_s=max(240.0, args.submissions * 10.0 / args.workers),
            )
            check_load(run, docker_client=client)
            context.session_factory.kw["bind"].dispose()
        print(run.summary())
        print("exactly once, hostile ones classified, scores correct, no container left: OK")
    finally:
        client.close()
        databases.drop_all()


if __name__ == "__main__":
    main()
