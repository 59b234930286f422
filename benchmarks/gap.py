"""The GPU's idle gap between back-to-back runs on one worker, with and without prefetching.

Three pushed images of ``--image-mb`` MB of random bytes (a model's weights do
not compress), each submitted in turn to one phase and evaluated back to back
by one worker, as a Celery worker with one task at a time does (the broker's
dequeue between two tasks, a Redis ``BRPOP`` of milliseconds, is not
included). Each container copies its inputs and then "computes" for
``--run-s`` seconds (a stand-in for inference). The gap is the engine's own
clock: from the ``die`` event of one submission container to the ``start``
event of the next. It is split into the tail of the finished run (collect,
score, persist: the worker scores one submission before it takes the next)
and the head of the next (claim, image, staging, container creation).

Three scenarios, each on a fresh worker cache, against a real registry
started like the tests start it (Podium as its token server):

* ``cold, no prefetch`` (``PODIUM_PREFETCH=false``): each run pulls its image
  in the gap;
* ``cold, prefetch``: the next image is pulled while the current one runs;
* ``cached``: every image already in the worker's cache.

Targets (issue 12): < 2 s with images cached; with images not cached, a gap
shorter than the pull time the prefetch saves.

    .venv/bin/python -m benchmarks.gap [--image-mb 300] [--run-s 20]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import docker.client
from alembic import command
from alembic.config import Config

from backend.challenges.models import Phase
from backend.db import make_engine, make_session_factory
from backend.storage import FilesystemStorage
from backend.submissions.images import image_to_run
from backend.submissions.models import Submission
from tests.fixtures.registry import REGISTRY_SECRET, RegistryServer
from tests.support.images import build_image
from tests.support.registry_world import RegistryWorld, registry_world
from worker.config import WorkerSettings
from worker.context import WorkerContext
from worker.evaluation import evaluate
from worker.images import ImageStore, image_store
from worker.prefetch import prefetcher
from worker.runner.base import GIB, MIB
from worker.runner.docker import DockerRunner

REPO = Path(__file__).resolve().parents[1]
PREFIX = "podium-gap-bench"
IMAGES = 3


def say(text: str) -> None:
    print(f"[gap] {text}", file=sys.stderr, flush=True)


def push_images(client: Any, world: RegistryWorld, *, work: Path, mb: int, run_s: float) -> None:
    """Build ``IMAGES`` images of random weights, push them, and drop them from the engine."""
    cli = world.logged_in(work, "a")
    for n in range(IMAGES):
        say(f"build and push image {n + 1} of {IMAGES} ({mb} MB)")
        local = build_image(
            client,
            files={
                "/weights.bin": os.urandom(mb * MIB),
                "/run.sh": f'for f in /input/*; do cp "$f" /output/; done; sleep {run_s}\n',
            },
            entrypoint=["/bin/sh", "/run.sh"],
        )
        world.push(cli, local, f"model:{n}")
        client.images.remove(local)
    cli.cleanup()


class ContainerClock:
    """The engine's ``start`` and ``die`` times of the bench's submission containers.

    Followed live: the engine keeps only its last few hundred events for a
    later ``since`` query, and other work on a shared engine pushes them out.
    """

    def __init__(self, client: Any) -> None:
        self.times: dict[int, dict[str, float]] = {}
        self._stream = client.events(
            decode=True, filters={"type": "container", "event": ["start", "die"]}
        )
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        pattern = re.compile(rf"^{PREFIX}-sub-(\d+)-\d+$")
        with contextlib.suppress(Exception):  # the stream closed by stop()
            for event in self._stream:
                match = pattern.match(event["Actor"]["Attributes"].get("name", ""))
                if match:
                    self.times.setdefault(int(match[1]), {})[event["Action"]] = (
                        event["timeNano"] / 1e9
                    )

    def stop(self) -> dict[int, dict[str, float]]:
        """Stop following; the times seen."""
        time.sleep(0.5)  # the last die event on its way
        self._stream.close()
        self._thread.join(timeout=10)
        return self.times


def scenario(
    client: Any, world: RegistryWorld, *, url: str, work: Path, prefetch: bool, cached: bool
) -> dict[str, list[float]]:
    """Evaluate one submission per image back to back; the gaps and their parts."""
    settings = WorkerSettings(
        database_url=url,
        secret_key=REGISTRY_SECRET,
        data_root=world.settings.data_root,
        work_dir=work,
        container_prefix=PREFIX,
        run_cpus=1.0,
        image_cache_bytes=64 * GIB,
        prefetch=prefetch,
        **world.registry.settings(),  # type: ignore[arg-type]
    )
    context = WorkerContext(
        session_factory=make_session_factory(make_engine(url)),
        storage=FilesystemStorage(settings.data_root),
        runner=DockerRunner(client_factory=lambda: client),
        settings=settings,
    )
    store = image_store(context)
    assert isinstance(store, ImageStore)
    ids = [world.submitted(f"{world.prefix('a')}model:{n}") for n in range(IMAGES)]
    if cached:
        for sid in ids:
            with context.session_factory() as session:
                row = session.get(Submission, sid)
                assert row is not None
                image = image_to_run(row)
            store.acquire(image, workdir=work)
    clock = ContainerClock(client)
    calls, returns, loads = [], [], []
    try:
        for sid in ids:
            calls.append(time.time())
            outcome = evaluate(sid, context=context)
            returns.append(time.time())
            if outcome.status != "succeeded":
                with context.session_factory() as session:
                    row = session.get(Submission, sid)
                    message = row.message if row is not None else ""
                raise SystemExit(f"submission {sid} ended {outcome.status}: {message}")
            assert outcome.timings is not None
            loads.append(outcome.timings.load)
    finally:
        events = clock.stop()
        prefetcher(context).join(timeout=600)
        store.clear()
        context.session_factory.kw["bind"].dispose()
    gaps, tails, heads = [], [], []
    for i in range(IMAGES - 1):
        died, started = events[ids[i]]["die"], events[ids[i + 1]]["start"]
        gaps.append(started - died)
        tails.append(returns[i] - died)
        heads.append(started - calls[i + 1])
    return {"gap": gaps, "tail": tails, "head": heads, "load": loads[1:]}


def run(args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    client = docker.client.from_env(timeout=600)
    with tempfile.TemporaryDirectory(prefix="podium-bench-gap-") as tmp:
        work = Path(tmp)
        registry = RegistryServer(
            root=work / "registry", port=args.port, realm_port=args.port + 1,
            binary="docker-registry",
        )  # fmt: skip
        registry.root.mkdir(parents=True)
        registry.start()
        url = f"sqlite:///{work / 'podium.sqlite3'}"
        config = Config(str(REPO / "alembic.ini"))
        config.attributes["database_url"] = url
        config.attributes["configure_logger"] = False
        command.upgrade(config, "head")
        engine = make_engine(url)
        results = {}
        try:
            with registry_world(
                engine=engine, registry=registry, data_root=work / "data", scored=True,
                submission_limit=IMAGES * 4,
            ) as world:  # fmt: skip
                with world.factory.begin() as session:  # room for the containers' "compute"
                    phase = session.get(Phase, world.phase_id)
                    assert phase is not None
                    phase.time_limit_s = int(args.run_s) + 120
                push_images(client, world, work=work, mb=args.image_mb, run_s=args.run_s)
                for name, prefetch, cached in (
                    ("cold, no prefetch", False, False),
                    ("cold, prefetch", True, False),
                    ("cached", True, True),
                ):
                    say(name)
                    results[name] = scenario(
                        client, world, url=url, work=work / name.replace(" ", "-"),
                        prefetch=prefetch, cached=cached,
                    )  # fmt: skip
        finally:
            registry.stop()
            engine.dispose()
    return results


def report(results: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> str:
    def median(values: list[float]) -> str:
        return f"{statistics.median(values):6.2f} s"

    pulled = statistics.median(results["cold, no prefetch"]["load"])
    rows = [
        f"{IMAGES} pushed images of {args.image_mb} MB, containers computing {args.run_s:g} s; "
        f"median of {IMAGES - 1} gaps each",
        f"{'':20} {'gap':>8} {'= tail of run':>14} {'+ head of next':>15}   image stage of next",
    ]
    for name, figures in results.items():
        rows.append(
            f"{name:20} {median(figures['gap']):>8} {median(figures['tail']):>14} "
            f"{median(figures['head']):>15}   {median(figures['load'])}"
        )
    saved = pulled - statistics.median(results["cold, prefetch"]["load"])
    rows.append(
        f"images not cached: the prefetch takes {saved:.2f} s of pulling out of the gap, which "
        f"is {statistics.median(results['cold, prefetch']['gap']):.2f} s with it "
        f"(target: less than the pull time saved)"
    )
    rows.append(
        f"images cached: gap {statistics.median(results['cached']['gap']):.2f} s (target < 2 s)"
    )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image-mb", type=int, default=300)
    parser.add_argument("--run-s", type=float, default=20.0, help="each container's compute time")
    parser.add_argument("--port", type=int, default=47210, help="registry port; the API gets +1")
    args = parser.parse_args()
    print(report(run(args), args))


if __name__ == "__main__":
    main()
