"""The compose stack started for real, driven as an organiser and a team would.

docker-compose.yml on this engine, from images built here without a registry
(``scripts/base-images compose``: Debian's Python 3.11, PostgreSQL and Redis
behind the official images' variables). One scenario, in order:

1. ``up``: every service healthy within its start period; ``/readyz`` answers.
2. The organiser made with ``podium user create`` (password on stdin, no
   terminal) and the challenge applied from a folder mounted into a one-off
   ``podium challenge apply`` (docs/deployment.md's commands).
3. A team registers, submits through the published port; the worker container
   starts the run as a sibling container named after the compose project; the
   scores and the board follow.
4. ``restart worker-gpu0`` during a run: the submission still ends once, one slot.
5. ``down`` and ``up``: the board and every submission are still there, once.
6. Backup and restore: ``pg_dump`` plus a copy of the data root into a second
   stack (another project): the same board, and a re-score runs.
7. The two stacks side by side on one engine: both run their next submission
   (the same submission id in each database) at the same time, each in its own
   containers.
8. Every line the API, the worker and the scheduler logged is one JSON object;
   ``podium doctor`` names what is misconfigured (here: no GPU runtime).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.compose import (
    REPO,
    Stack,
    base_images,
    compose_cli,
    images_tag,
    new_stack,
    parse_json_lines,
)
from tests.support.models import threshold_binary, threshold_tarball

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1500)]

ORGANISER = "chair@example.org"
TEAM = {"email": "team@example.org", "password": "a long team password", "display_name": "T"}
TERMINAL = {"succeeded", "failed", "failed_preflight", "error", "cancelled"}
#: Healthy within the start period each service declares (compose file or image), plus
#: one probe interval of slack: a probe that starts just inside the period ends after it.
#: Each service's health check as its image declares it (docker/Dockerfile.*, the compose file).
START_PERIODS = {
    "postgres": 10,
    "redis": 10,
    "api": 120,
    "registry": 20,
    "worker-gpu0": 120,
    "notifier": 120,
    "scheduler": 120,
}
INTERVALS = {
    "postgres": 5,
    "redis": 5,
    "api": 10,
    "registry": 15,
    "worker-gpu0": 15,
    "notifier": 15,
    "scheduler": 15,
}


@pytest.fixture(scope="module")
def cli() -> list[str]:
    found = compose_cli()
    if not found:
        message = "no compose CLI: apt-get install docker-compose (scripts/services does)"
        if os.environ.get("PODIUM_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        message = "the stand-in base images need root and debootstrap (scripts/services)"
        if os.environ.get("PODIUM_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


def _bring_up(stack: Stack, docker_client, *, timed: bool = False) -> dict[str, float]:
    """``up -d`` until all healthy; ``timed``: each within its start period.

    Only the first start is timed: later ones share the machine with the other
    stack's containers, and what they show is that nothing was lost. The start
    periods are for a host whose CPUs are not oversubscribed; on one that is
    (other work running: load average above the CPU count) the limits stretch by
    that factor, which is 1 on CI's otherwise idle machine.
    """
    healthy = stack.up(docker_client)
    slowdown = max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
    for service, seconds in healthy.items() if timed else ():
        limit = (START_PERIODS[service] + INTERVALS[service]) * slowdown
        assert seconds <= limit, (
            f"{service} healthy after {seconds:.0f}s (limit {limit:.0f}s, load x{slowdown:.1f})"
        )
    with stack.api() as api:
        assert api.get(f"{stack.url}/readyz").json()["status"] == "ready"
    return healthy


def _organiser_token(stack: Stack) -> str:
    created = stack.compose(
        "exec", "-T", "api", "podium", "user", "create", "--email", ORGANISER,
        "--name", "Chair", "--role", "admin", stdin="a long chair password\n",
    )  # fmt: skip
    assert f"{ORGANISER} (admin) created" in created.stdout
    return stack.compose(
        "exec", "-T", "api", "podium", "user", "token", "--email", ORGANISER
    ).stdout.strip()


def _team_token(stack: Stack) -> str:
    # Signing up over HTTP waits for the e-mailed link (no mail server in this stack): the
    # account comes from the CLI, as an organiser would make one, and the rest over HTTP.
    created = stack.compose(
        "exec", "-T", "api", "podium", "user", "create", "--email", TEAM["email"],
        "--name", TEAM["display_name"], "--role", "participant", stdin=f"{TEAM['password']}\n",
    )  # fmt: skip
    assert f"{TEAM['email']} (participant) created" in created.stdout, created.stdout
    with stack.api() as api:
        login = api.post("/auth/login", json={k: TEAM[k] for k in ("email", "password")})
        session = login.json()["token"]
        headers = {"Authorization": f"Bearer {session}"}
        token = api.post("/auth/tokens", json={"name": "ci"}, headers=headers).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        made = api.post("/challenges/trials-demo/teams", json={"name": "Team"}, headers=auth)
        assert made.status_code == 201, made.text
    return str(token)


def _phase_id(stack: Stack) -> int:
    with stack.api() as api:
        challenge = api.get("/challenges/trials-demo").json()
    (task,) = [t for t in challenge["tasks"] if t["slug"] == "task1"]
    (phase,) = [p for p in task["phases"] if p["slug"] == "validation"]
    return int(phase["id"])


def _submit(stack: Stack, token: str, phase_id: int, tarball: Path) -> int:
    with stack.api() as api:
        answer = api.post(
            f"/phases/{phase_id}/submissions",
            content=tarball.read_bytes(),
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _wait(stack: Stack, token: str, submission_id: int, states: set[str], timeout: float = 240):
    deadline = time.monotonic() + timeout
    with stack.api() as api:
        while True:
            row = api.get(
                f"/submissions/{submission_id}", headers={"Authorization": f"Bearer {token}"}
            ).json()
            if row["status"] in states:
                return row
            if row["status"] in TERMINAL:
                raise AssertionError(f"{stack.project}: submission ended {row}")
            if time.monotonic() > deadline:
                logs = stack.compose("logs", "--no-color", "--tail", "40", "worker-gpu0").stdout
                raise AssertionError(f"{stack.project}: {row['status']} after {timeout}s\n{logs}")
            time.sleep(0.5)


def _own_submissions(stack: Stack, token: str, phase_id: int) -> list[dict[str, Any]]:
    with stack.api() as api:
        listing = api.get(
            f"/phases/{phase_id}/submissions", headers={"Authorization": f"Bearer {token}"}
        ).json()
    return sorted(listing["submissions"], key=lambda s: s["id"])


def _board(stack: Stack, phase_id: int) -> list[tuple[str, int, float]]:
    with stack.api() as api:
        board = api.get(f"/phases/{phase_id}/leaderboard").json()
    return [(row["team"], row["submission_id"], row["score"]) for row in board["rows"]]


def _started_containers(docker_client, since: float) -> list[str]:
    """Names of containers the engine started since ``since`` (its event log)."""
    events = docker_client.api.events(
        since=int(since), until=int(time.time()) + 1, decode=True,
        filters={"type": "container", "event": "start"},
    )  # fmt: skip
    return [e["Actor"]["Attributes"].get("name", "") for e in events]


def test_the_compose_stack_end_to_end(cli, docker_client, tmp_path) -> None:
    timings: dict[str, float] = {}
    clock = time.monotonic()
    base = base_images()
    timings["base images"] = time.monotonic() - clock
    tag = images_tag(base["PYTHON_IMAGE"])
    work = Path(tempfile.mkdtemp(prefix="podium-compose-"))
    stacks: list[Stack] = []
    try:
        a = new_stack(cli=cli, base=base, tag=tag, workdir=work, name="a")
        stacks.append(a)
        clock = time.monotonic()
        have = {i.tags[0] for i in docker_client.images.list(name="podium/*") if i.tags}
        if not {f"podium/api:{tag}", f"podium/worker:{tag}"} <= have:
            a.compose("build", timeout=1500)
        timings["images"] = time.monotonic() - clock

        # 1. Up and healthy.
        clock = time.monotonic()
        healthy = _bring_up(a, docker_client, timed=True)
        timings["up"] = time.monotonic() - clock

        # 2. Organiser and challenge, as docs/deployment.md says.
        data = tmp_path / "trials-demo"
        subprocess.run(
            [sys.executable, "-m", "demo.data",
             str(data), "--cases-per-centre", "2", "--sample-cases", "1"],
            cwd=REPO, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        organiser = _organiser_token(a)
        applied = a.compose(
            "run", "--rm", "--no-deps", "-v", f"{data}:/import:ro", "api",
            "podium", "challenge", "apply", "/import/trials-demo.yaml", "--as", ORGANISER,
        )  # fmt: skip
        assert "challenge trials-demo applied" in applied.stdout, applied.stderr
        assert organiser.startswith("pod_")

        # 3. A team submits through the published port; the worker starts a sibling.
        binary = threshold_binary(tmp_path / "predict")
        quick = threshold_tarball(docker_client, binary, delay_s=0, out=tmp_path / "quick.tar")
        slow = threshold_tarball(docker_client, binary, delay_s=12, out=tmp_path / "slow.tar")
        team = _team_token(a)
        phase = _phase_id(a)
        since = time.time()
        clock = time.monotonic()
        first = _submit(a, team, phase, quick)
        done = _wait(a, team, first, {"succeeded"})
        timings["first submission"] = time.monotonic() - clock
        assert done["attempt"] == 1
        assert f"{a.project}-sub-{first}-1" in _started_containers(docker_client, since)
        assert [row[:2] for row in _board(a, phase)] == [("Team", first)]

        # 4. The worker restarted during a run: still once, one slot.
        second = _submit(a, team, phase, slow)
        _wait(a, team, second, {"running"})
        clock = time.monotonic()
        # Warm shutdown lets the run finish; a minute at most (compose's default is the
        # service's stop_grace_period, 2 min), then the engine kills the worker.
        a.compose("restart", "-t", "60", "worker-gpu0", timeout=300)
        done = _wait(a, team, second, {"succeeded"})
        timings["restart mid-run"] = time.monotonic() - clock
        own = _own_submissions(a, team, phase)
        assert [(s["id"], s["status"]) for s in own] == [
            (first, "succeeded"),
            (second, "succeeded"),
        ]
        assert [row[:2] for row in _board(a, phase)] == [("Team", second)]

        # 5. Down and up: nothing lost.
        clock = time.monotonic()
        a.compose("down", timeout=300)
        _bring_up(a, docker_client)
        timings["down and up"] = time.monotonic() - clock
        assert [(s["id"], s["status"]) for s in _own_submissions(a, team, phase)] == [
            (first, "succeeded"),
            (second, "succeeded"),
        ]
        board = _board(a, phase)
        assert [row[:2] for row in board] == [("Team", second)]

        # 6. Backup (pg_dump + the data root) restored into a second stack.
        clock = time.monotonic()
        dump = a.compose("exec", "-T", "postgres", "pg_dump", "-U", "podium", "podium").stdout
        assert "CREATE TABLE public.submissions" in dump
        b = new_stack(cli=cli, base=base, tag=tag, workdir=work, name="b")
        # The backup includes .env's secret key: API tokens are stored hashed with it.
        b.env["PODIUM_SECRET_KEY"] = a.env["PODIUM_SECRET_KEY"]
        stacks.append(b)
        subprocess.run(["cp", "-a", f"{a.data_root}/.", str(b.data_root)], check=True)
        b.up(docker_client, "postgres")
        b.compose("exec", "-T", "postgres", "psql", "-q", "-v", "ON_ERROR_STOP=1", "-U",
                  "podium", "podium", stdin=dump)  # fmt: skip
        _bring_up(b, docker_client)
        timings["restore"] = time.monotonic() - clock
        assert _board(b, phase) == board
        rescored = b.compose("exec", "-T", "api", "podium", "phase", "rescore", str(phase),
                             "--as", ORGANISER)  # fmt: skip
        assert "2" in rescored.stdout, rescored.stdout
        deadline = time.monotonic() + 120
        while len(_events(b, "rescore.done")) < 2:
            assert time.monotonic() < deadline, b.compose(
                "logs", "--no-color", "worker-gpu0"
            ).stdout
            time.sleep(1)
        assert _board(b, phase) == board

        # 7. Side by side: submission 3 in both databases, at the same time.
        since = time.time()
        third = {s.project: _submit(s, team, phase, slow) for s in (a, b)}
        assert set(third.values()) == {second + 1}
        for stack in (a, b):
            assert _wait(stack, team, third[stack.project], {"succeeded"})["attempt"] == 1
        started = _started_containers(docker_client, since)
        for stack in (a, b):
            assert f"{stack.project}-sub-{second + 1}-1" in started

        # 8. Logs are JSON, line by line; the doctor names the missing GPU runtime.
        for stack in (a, b):
            for service in ("api", "worker-gpu0", "scheduler"):
                assert parse_json_lines(stack.log_lines(service)), service
        ready = _events(a, "worker.ready")
        assert ready
        assert ready[-1]["container_prefix"] == a.project
        doctor = a.compose("exec", "-T", "api", "podium", "doctor", check=False)
        assert doctor.returncode == 1, doctor.stdout
        assert "nvidia runtime" in doctor.stdout
        assert "FAIL" in doctor.stdout
        timings["healthy (s after start)"] = max(healthy.values())
    finally:
        for stack in reversed(stacks):
            stack.compose("down", "-v", "--remove-orphans", timeout=300, check=False)
            for container in docker_client.containers.list(
                all=True, filters={"name": f"{stack.project}-sub-"}
            ):
                container.remove(force=True)
            shutil.rmtree(stack.data_root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        print(
            "compose stack timings (s):", json.dumps({k: round(v, 1) for k, v in timings.items()})
        )


def _events(stack: Stack, event: str) -> list[dict[str, Any]]:
    records = parse_json_lines(stack.log_lines("worker-gpu0"))
    return [r for r in records if r.get("event") == event]
