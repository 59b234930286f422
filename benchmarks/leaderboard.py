"""Latency of the leaderboard endpoint over a real database and a real HTTP server (issue 6).

Seeds 50 teams × 4 succeeded submissions × 70 test cases (China 17, Egypt 28,
External 25) × 2 paradigms (Task 2: visible and combined) = 28,000 stored
CaseScores in a migrated database (an SQLite file by default, or PostgreSQL with
``--database-url``), serves the API with uvicorn on a loopback port and times
``GET /api/v1/phases/{id}/leaderboard`` over HTTP:

- cold: the process's board cache emptied before every request (the request
  loads every counted case score, ranks, runs the 1,000-sample bootstrap with the
  metric intervals from the same resamples, the lesion-size strata and the
  significance maps of both paradigms);
- warm: the cache filled (the request checks the phase's generation and
  submission fingerprint, then serves the built board).

The phase ranks with the TriALS rules (average ties) and has two reference entries
(a ranked baseline, an unranked human reader) besides the teams. Then times
``scoring.ranking.analyse`` (1,000 samples, intervals included) for 10 of the
teams, on their results as loaded from the database. Targets (issues 6 and 15):
warm p99 < 50 ms, cold < 1 s, bootstrap < 1 s.

    .venv/bin/python -m benchmarks.leaderboard [--cold 20] [--warm 300]   # from the repository root
    .venv/bin/python -m benchmarks.leaderboard --database-url postgresql+psycopg://...
    .venv/bin/python -m benchmarks.leaderboard --lesions 20   # results as heavy as real ones
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.enums import RankingSelection
from backend.jobs import RecordingJobQueue
from backend.leaderboard import cache
from backend.leaderboard.context import load_phase
from backend.leaderboard.entries import gather
from backend.leaderboard.ranked import _results_by_entry
from backend.leaderboard.repository import challenge_teams
from backend.leaderboard.rules import rules_of
from backend.main import create_app
from backend.submissions.models import CaseScore, board_summary
from scoring.ranking import analyse
from tests.backend.leaderboard_seed import ReferenceSpec, TeamSpec, seed_phase
from tests.backend.live import serve
from tests.fixtures.database import alembic_upgrade

CENTRES = {"China": 17, "Egypt": 28, "External": 25}
PARADIGMS = ("visible", "combined")
RANKING: dict[str, object] = {
    "ties": "average",
    "references": {"baseline": "ranked", "human": "unranked", "off-the-shelf": "ranked"},
}
REFERENCES = [
    ReferenceSpec(name="Baseline", kind="baseline", quality=0.7),
    ReferenceSpec(name="Second reader", kind="human", quality=0.9),
]


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank, as latency reports use)."""
    return float(np.percentile(values, q, method="higher"))


def timed_get(client: httpx.Client, url: str) -> float:
    """Milliseconds for one GET that must answer 200."""
    start = time.perf_counter()
    r = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    if r.status_code != 200:
        raise RuntimeError(f"{url}: {r.status_code} {r.text[:200]}")
    return elapsed


def _add_lesions(session: Session, n: int) -> None:
    """Give every stored result ``n`` per-lesion entries, as the scorer writes them."""
    entry = {
        "pred_id": 1, "ref_id": 1, "pred_voxels": 1234, "ref_voxels": 1300,
        "iou": 0.81234567890123, "dice": 0.8965432101234567, "jaccard": 0.81234567890123,
        "voe": 0.18765432109877, "rvd": -0.0507692307692308, "assd": 0.4123456789012345,
        "rmsd": 0.7123456789012345, "msd": 3.1234567890123456,
    }  # fmt: skip
    rows = session.execute(select(CaseScore.id, CaseScore.result)).all()
    for row_id, result in rows:
        lesions = [{**entry, "pred_id": i + 1, "ref_id": i + 1} for i in range(n)]
        session.execute(
            update(CaseScore)
            .where(CaseScore.id == row_id)
            .values(result={**result, "lesions": lesions}, summary=board_summary(result))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--submissions", type=int, default=4)
    parser.add_argument("--cold", type=int, default=20, help="cold requests")
    parser.add_argument("--warm", type=int, default=300, help="warm requests")
    parser.add_argument("--bootstrap-teams", type=int, default=10)
    parser.add_argument(
        "--lesions",
        type=int,
        default=0,
        help="per-lesion entries added to every stored result (a real TriALS case has tens)",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="no reference entries and the default rules (min ties), as before issue 15",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        alembic_upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        rng = np.random.default_rng(6)
        teams = [
            TeamSpec(
                name=f"Team {i:02d}",
                qualities=[float(q) for q in rng.uniform(0.45, 0.95, size=args.submissions)],
            )
            for i in range(args.teams)
        ]
        start = time.perf_counter()
        with factory() as session:
            seeded = seed_phase(
                session,
                teams=teams,
                centres=CENTRES,
                paradigms=PARADIGMS,
                selection=RankingSelection.LATEST,
                noise=0.1,
                ranking={} if args.plain else RANKING,
                references=() if args.plain else REFERENCES,
            )
            session.commit()
            if args.lesions:
                _add_lesions(session, args.lesions)
                session.commit()
        phase_id = seeded.phase.id
        stored = args.teams * args.submissions * sum(CENTRES.values()) * len(PARADIGMS)
        print(
            f"database: {engine.dialect.name}; seeded {stored:,} case scores in "
            f"{time.perf_counter() - start:.1f} s"
        )

        settings = Settings(
            environment="test",
            secret_key="benchmark-secret-key-0123456789abcdef",
            database_url=url,
            data_root=Path(tmp) / "data",
            log_json=False,
            log_level="WARNING",
        )
        app = create_app(
            settings, session_factory=factory, job_queue=RecordingJobQueue(), configure_logs=True
        )
        path = f"/api/v1/phases/{phase_id}/leaderboard"
        with serve(app) as base, httpx.Client(base_url=base, timeout=60) as client:
            timed_get(client, path)  # imports, first connection
            board = client.get(path).json()
            shown = {
                "rows": len(board["rows"]),
                "significance maps": len(board["significance"]),
                "rows with intervals": sum(
                    all(c["interval"] is not None for c in r["cells"].values())
                    for r in board["rows"]
                ),
                "rows with strata": sum(r["strata"] is not None for r in board["rows"]),
            }
            print(f"the board: {shown}")
            cold = []
            for _ in range(args.cold):
                cache.BOARDS.clear()
                cache.RESULTS.clear()
                cold.append(timed_get(client, path))
            warm = [timed_get(client, path) for _ in range(args.warm)]
            centre = []
            for _ in range(args.cold):
                cache.BOARDS.clear()
                cache.RESULTS.clear()
                timed_get(client, path)
                centre.append(timed_get(client, f"{path}?centre=Egypt"))

        with factory() as session:
            ctx = load_phase(session, phase_id)
            entries, _ = gather(
                session,
                ctx,
                challenge_teams(session, challenge_id=ctx.challenge.id),
                view="public",
                rules=rules_of(ctx.phase.ranking),
                paradigms=PARADIGMS,
            )
            picked = [e for e in entries if e.kind == "team"][: args.bootstrap_teams]
            subs, _ = _results_by_entry(session, ctx, picked)
        centres = {c.key: c.centre for c in ctx.cases}
        boot = []
        for _ in range(5):
            start = time.perf_counter()
            analyse(
                subs,
                centres=centres,
                paradigms=PARADIGMS,
                ranked=list(subs),
                samples=1000,
                seed=0,
                ties="average",
            )
            boot.append((time.perf_counter() - start) * 1000)
        engine.dispose()

    def line(name: str, values: list[float]) -> str:
        return (
            f"{name:<44} n={len(values):<4} p50 {percentile(values, 50):8.1f} ms   "
            f"p99 {percentile(values, 99):8.1f} ms   max {max(values):8.1f} ms"
        )

    print(
        f"{args.teams} teams × {args.submissions} submissions × {sum(CENTRES.values())} cases "
        f"× {len(PARADIGMS)} paradigms"
    )
    print(line("cold (cache emptied; rank, bootstrap, intervals, maps, strata)", cold))
    print(line("warm (cached board)", warm))
    print(line("centre tab after overall (shared bootstrap)", centre))
    print(
        f"{'analyse (1,000 samples, intervals), ' + str(len(subs)) + ' teams':<44} "
        f"median {statistics.median(boot):.1f} ms (of 5)"
    )


if __name__ == "__main__":
    main()
