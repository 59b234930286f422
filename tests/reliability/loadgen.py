"""API load: many concurrent clients against a real uvicorn process on loopback.

Shared by ``tests/reliability/test_load.py`` (200 clients, 20 s) and
``benchmarks/load.py`` (longer, more clients). The server is a separate
process (``uvicorn backend.main:create_app --factory``) on a PostgreSQL
database of its own, so the clients and the server do not share a GIL. Jobs go
to the embedded queue with no handler (recorded and logged): no worker runs,
this measures the API alone.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import func, select

from backend.auth.service import issue_token
from backend.db import make_engine, make_session_factory
from backend.submissions.models import Submission
from tests.backend.leaderboard_seed import TeamSpec, seed_phase
from tests.backend.tarballs import image_tarball

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "load-test-secret-key-long-enough-0123456789"


@dataclass(frozen=True)
class LoadSeed:
    """The phase under load, its quota, and one token per team."""

    phase_id: int
    limit: int
    used_before: dict[int, int]
    tokens: dict[int, str]


@dataclass
class LoadReport:
    """Per-kind latencies and statuses, and what each team got accepted."""

    duration_s: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    accepted: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        """All requests answered."""
        return sum(len(v) for v in self.latencies.values())

    def percentile(self, q: float, kind: str | None = None) -> float:
        """Latency percentile in milliseconds (all kinds together by default)."""
        values = self.latencies[kind] if kind else [v for vs in self.latencies.values() for v in vs]
        return float(np.percentile(values, q) * 1000) if values else float("nan")

    def table(self) -> str:
        """A plain-text table: kind, requests, statuses, p50, p99, max."""
        lines = [
            f"{'kind':<12} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses"
        ]
        for kind in [*sorted(self.latencies), None]:
            values = (
                self.latencies[kind] if kind else [v for vs in self.latencies.values() for v in vs]
            )
            codes = self.statuses[kind] if kind else sum(self.statuses.values(), Counter())
            spread = " ".join(f"{c}:{n}" for c, n in sorted(codes.items()))
            lines.append(
                f"{kind or 'all':<12} {len(values):>8} {self.percentile(50, kind):>8.1f} "
                f"{self.percentile(99, kind):>8.1f} {max(values, default=0) * 1000:>8.1f}  {spread}"
            )
        rate = self.requests / self.duration_s if self.duration_s else 0.0
        lines.append(f"{self.requests} requests in {self.duration_s:.1f} s ({rate:.0f}/s)")
        return "\n".join(lines)


def seed_load(database_url: str, *, teams: int, limit: int) -> LoadSeed:
    """A live validation phase with ``teams`` teams, one scored submission each."""
    engine = make_engine(database_url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            specs = [
                TeamSpec(name=f"Load {i}", qualities=[0.5 + i / (4 * teams)]) for i in range(teams)
            ]
            seeded = seed_phase(session, teams=specs, centres={"a": 4, "b": 4})
            seeded.phase.submission_limit = limit
            tokens = {
                seeded.teams[spec.name].id: issue_token(
                    session,
                    user=seeded.users[spec.name],
                    name="load",
                    secret_key=SECRET,
                    ttl_days=1,
                )[1]
                for spec in specs
            }
            session.commit()
            used = count_accepted(database_url, phase_id=seeded.phase.id)
            return LoadSeed(phase_id=seeded.phase.id, limit=limit, used_before=used, tokens=tokens)
    finally:
        engine.dispose()


def count_accepted(database_url: str, *, phase_id: int) -> dict[int, int]:
    """Submissions holding a quota slot, per team."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Submission.team_id, func.count())
                .where(Submission.phase_id == phase_id, Submission.slot.is_not(None))
                .group_by(Submission.team_id)
            )
            return {int(team): int(n) for team, n in rows}
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def api_server(database_url: str, *, data_root: Path) -> Iterator[str]:
    """A uvicorn process serving the API on loopback; yields its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "PODIUM_ENVIRONMENT": "test",
        "PODIUM_SECRET_KEY": SECRET,
        "PODIUM_DATABASE_URL": database_url,
        "PODIUM_DATA_ROOT": str(data_root),
        "PODIUM_JOB_BACKEND": "local",
        "PODIUM_LOG_LEVEL": "ERROR",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "backend.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--backlog",
        "1024",
        # Longer than the run: with uvicorn's 5 s default, a client reusing a connection
        # the server is closing at that moment gets "Server disconnected" (a keep-alive
        # race every HTTP client meets, not an API failure).
        "--timeout-keep-alive",
        "65",
    ]
    server = subprocess.Popen(command, env=env, cwd=REPO_ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the API process exited with {server.returncode}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API process did not answer within 30 s")
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def _client(
    http: httpx.AsyncClient,
    *,
    role: str,
    index: int,
    seed: LoadSeed,
    deadline: float,
    report: LoadReport,
    body: bytes,
) -> None:
    teams = sorted(seed.tokens)
    team = teams[index % len(teams)]
    auth = {"Authorization": f"Bearer {seed.tokens[team]}"}
    phase = seed.phase_id
    while time.monotonic() < deadline:
        if role == "upload":
            method, url, headers, content = (
                "POST",
                f"/api/v1/phases/{phase}/submissions",
                auth,
                body,
            )
            ok = (201, 429)
        elif role == "status":
            method, url, headers, content = "GET", f"/api/v1/phases/{phase}/submissions", auth, None
            ok = (200,)
        else:
            query = "" if index % 2 else "?centre=a"
            method, url, headers, content = (
                "GET",
                f"/api/v1/phases/{phase}/leaderboard{query}",
                {},
                None,
            )
            ok = (200,)
        started = time.perf_counter()
        try:
            response = await http.request(method, url, headers=headers, content=content)
        except httpx.HTTPError as exc:
            report.failures.append(f"{role}: {type(exc).__name__}: {exc}")
            report.statuses[role][0] += 1
            continue
        report.latencies[role].append(time.perf_counter() - started)
        report.statuses[role][response.status_code] += 1
        if response.status_code not in ok:
            report.failures.append(f"{role} {url}: {response.status_code} {response.text[:200]}")
        if role == "upload" and response.status_code == 201:
            report.accepted[team] += 1
        if role == "status" and response.status_code == 200:
            # Poll the newest submission too, as a team's page does.
            newest = response.json()["submissions"][:1]
            if newest:
                started = time.perf_counter()
                one = await http.get(f"/api/v1/submissions/{newest[0]['id']}", headers=auth)
                report.latencies["status"].append(time.perf_counter() - started)
                report.statuses["status"][one.status_code] += 1
                if one.status_code != 200:
                    report.failures.append(f"status one: {one.status_code} {one.text[:200]}")


async def run_load(
    base_url: str, *, seed: LoadSeed, clients: int, duration_s: float, upload_share: float = 0.2
) -> LoadReport:
    """``clients`` concurrent clients for ``duration_s``: uploads, status polls, board reads.

    A fifth of the clients upload small image tarballs for the teams in turn
    (201 until the quota is used, then 429), two fifths poll their team's
    submissions, the rest read the public leaderboard.
    """
    report = LoadReport()
    body = image_tarball(layer_bytes=16 * 1024, gzip_it=True)
    uploaders = max(1, int(clients * upload_share))
    pollers = (clients - uploaders) // 2
    roles = ["upload"] * uploaders + ["status"] * pollers
    roles += ["board"] * (clients - len(roles))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:
        started = time.monotonic()
        deadline = started + duration_s
        await asyncio.gather(
            *(
                _client(
                    http, role=role, index=i, seed=seed, deadline=deadline, report=report, body=body
                )
                for i, role in enumerate(roles)
            )
        )
        report.duration_s = time.monotonic() - started
    return report
