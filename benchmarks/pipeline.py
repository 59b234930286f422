"""Pipeline overhead: one submission through ``evaluate`` with 20 prepared predictions.

The submission's image (busybox, built without a registry) carries ready-made
predictions for every case and its entrypoint copies them to ``/output``, so
the container itself does almost nothing and the scorer does the real work.
The time from task start to scores stored is split into the pipeline's stages:

* load    - fetch the image tarball, ``docker load`` it, stage the inputs;
* run     - the sandboxed run (container start to exit, plus the runner's own
            work: keeper, volume, copy out), shown separately;
* collect - pick and check the outputs, keep the predictions for re-scoring;
* score   - ``scoring`` for every case × paradigm (2 paradigms, like Task 2);
* persist - one transaction: evaluation, 40 CaseScores, status.

A second submission to the same phase is then evaluated too: its labels come
prepared from the worker's label cache, and its score time is printed last.

Overhead = total − container time − scorer time; the goal (issue 5) is < 10 %.

The scoring stage's CPU time (every thread of the process) is printed as well: on a
loaded machine it is the steadier figure. With ``--baseline DIR`` (another checkout,
e.g. a ``git worktree`` of an older commit) each repetition runs this script twice,
alternating, each in its own process: once on this checkout's code and once on that
one's (the script itself stays this one), and the figures are compared (issue 17:
the second submission's score time).

    .venv/bin/python -m benchmarks.pipeline                         # SQLite file
    .venv/bin/python -m benchmarks.pipeline --database-url postgresql+psycopg://...
    .venv/bin/python -m benchmarks.pipeline --baseline /tmp/podium-base --repeat 3
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import docker
import numpy as np
from alembic import command
from alembic.config import Config

import worker.evaluation
from backend.db import make_engine, make_session_factory
from backend.storage import FilesystemStorage
from backend.submissions.models import Submission
from tests.support.images import build_image
from tests.support.world import make_world, write_mask
from worker.config import WorkerSettings
from worker.context import WorkerContext
from worker.evaluation import evaluate
from worker.runner.base import GIB, RunResult
from worker.runner.docker import DockerRunner

REPO = Path(__file__).resolve().parents[1]
# The checkout whose code runs (another one's under --baseline): its own migrations
# make the schema its models expect.
CODE = Path(worker.evaluation.__file__).resolve().parents[1]
# The repository's copy of the real sample cases, as the scoring tests use it.
SAMPLE = Path(os.environ.get("PODIUM_TRIALS_SAMPLE", REPO / "tests" / "data" / "trials-sample"))


class RecordingRunner:
    """Delegates to the Docker runner and keeps each RunResult (for the container time)."""

    def __init__(self, inner: DockerRunner) -> None:
        self.inner = inner
        self.results: list[RunResult] = []

    @property
    def client(self) -> Any:
        """The engine client (the worker's image store pulls and loads through it)."""
        return self.inner.client

    def present_image(self, reference: str, *, root_images: Any = "refuse") -> Any:
        return self.inner.present_image(reference, root_images=root_images)

    def load_image(self, tarball: Path, *, expected_id: str, root_images: Any = "refuse") -> Any:
        return self.inner.load_image(tarball, expected_id=expected_id, root_images=root_images)

    def run(self, spec: Any) -> RunResult:
        result = self.inner.run(spec)
        self.results.append(result)
        return result

    def remove_image(self, image: Any) -> None:
        self.inner.remove_image(image)


def synthetic_mask(index: int, shape: tuple[int, int, int]) -> np.ndarray:
    """A few ellipsoid lesions per case, placed by a per-case seed."""
    rng = np.random.default_rng(index)
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    mask = np.zeros(shape, dtype=np.uint8)
    for _ in range(4):
        c = [rng.integers(8, s - 8) for s in shape]
        r = rng.integers(3, 7, size=3)
        mask[
            ((z - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((x - c[2]) / r[2]) ** 2 <= 1
        ] = 1
    return mask


def migrate(url: str) -> None:
    config = Config(str(CODE / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def one_run(
    *, client: Any, database_url: str, root: Path, cases: int, shape: tuple, sample: Path | None
) -> dict:
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    data_root = root / "data"
    settings = WorkerSettings(
        database_url=database_url,
        data_root=data_root,
        work_dir=root / "work",
        output_bytes=1 * GIB,
        run_cpus=2.0,
        heartbeat_s=30,
        container_prefix=f"podium-bench{os.getpid()}",
    )
    with factory.begin() as session:
        world = make_world(session, data_root=data_root, cases=cases, samples=0)
    # Synthetic cases of the requested shape; the predictions are the "visible" labels
    # with one voxel layer removed from every lesion's top (not a trivial perfect score).
    predictions = {}
    if sample is not None:
        # Real TriALS volumes (637×512×512 and 619×512×512) with a team's real
        # predictions, alternating; the label stands in for the CT input, which the
        # container ignores anyway. Both paradigms use the real label.
        for index, key in enumerate(world.case_keys):
            real = ("venous_0", "venous_11")[index % 2]
            label = (sample / "labels" / f"{real}.nii.gz").read_bytes()
            for folder in (f"inputs/{world.phase_id}", *(
                f"labels/{world.task_id}/{p}/v1" for p in ("visible", "combined")
            )):  # fmt: skip
                (data_root / folder / f"{key}.nii.gz").write_bytes(label)
            predictions[f"/preds/{key}.nii.gz"] = (
                sample / "predictions" / f"{real}.nii.gz"
            ).read_bytes()
    for index, key in enumerate(world.case_keys if sample is None else []):
        mask = synthetic_mask(index, shape)
        combined = mask.copy()
        combined[shape[0] // 2, :4, :4] = 1
        write_mask(data_root / f"inputs/{world.phase_id}/{key}.nii.gz", mask)
        write_mask(data_root / f"labels/{world.task_id}/visible/v1/{key}.nii.gz", mask)
        write_mask(data_root / f"labels/{world.task_id}/combined/v1/{key}.nii.gz", combined)
        predicted = mask.copy()
        predicted[1:] &= mask[:-1]
        out = root / "preds" / f"{key}.nii.gz"
        write_mask(out, predicted)
        predictions[f"/preds/{key}.nii.gz"] = out.read_bytes()
    image = build_image(
        client,
        files={**predictions, "/run.sh": "cp /preds/*.nii.gz /output/\n"},
        entrypoint=["/bin/sh", "/run.sh"],
    )
    with factory.begin() as session:
        submission_id = world.add_submission(session, docker_client=client, image=image)
        second_id = world.add_submission(session, docker_client=client, image=image)
    client.images.remove(image)  # so that the run really loads the tarball
    runner = RecordingRunner(DockerRunner(client_factory=lambda: client))
    context = WorkerContext(
        session_factory=factory,
        storage=FilesystemStorage(data_root),
        runner=runner,
        settings=settings,
    )
    scoring_cpu: list[float] = []
    inner = worker.evaluation.score_predictions

    def timed(**kwargs: Any) -> Any:  # the scoring stage's CPU time, every thread
        cpu = time.process_time()
        try:
            return inner(**kwargs)
        finally:
            scoring_cpu.append(time.process_time() - cpu)

    worker.evaluation.score_predictions = timed  # type: ignore[assignment]
    started = time.perf_counter()
    outcome = evaluate(submission_id, context=context)
    total = time.perf_counter() - started
    if outcome.status != "succeeded":
        with factory() as session:
            row = session.get(Submission, submission_id)
            raise SystemExit(f"the run ended {outcome.status}: {row.message} {row.log_tail}")
    # A second submission to the same phase finds the labels prepared.
    warm = evaluate(second_id, context=context)
    worker.evaluation.score_predictions = inner  # type: ignore[assignment]
    engine.dispose()
    assert outcome.timings is not None
    assert warm.timings is not None
    t = outcome.timings
    container = runner.results[0].duration_s
    return {
        "score, 2nd submission": warm.timings.score,
        "score CPU": scoring_cpu[0],
        "score CPU, 2nd submission": scoring_cpu[-1],
        "total": total,
        "load": t.load,
        "container": container,
        "runner": t.run - container,
        "collect": t.collect,
        "score": t.score,
        "persist": t.persist,
        "other": total - (t.load + t.run + t.collect + t.score + t.persist),
        "overhead": (total - container - t.score) / total,
    }


STAGES = ("total", "load", "container", "runner", "collect", "score", "persist", "other")
SECOND = "score, 2nd submission"
CPU = ("score CPU", "score CPU, 2nd submission")
# Runs this file with another checkout's code first on the path (its backend, worker,
# scoring and tests), so both sides are measured by the same script.
_RUN_ELSEWHERE = (
    "import runpy, sys; root, script = sys.argv[1], sys.argv[2]; sys.path.insert(0, root); "
    "sys.argv = [script, *sys.argv[3:]]; runpy.run_path(script, run_name='__main__')"
)


def _alternate(args: argparse.Namespace, passthrough: list[str]) -> None:
    """Run this script here and in the baseline checkout, alternating; compare the scoring."""
    figures: dict[str, list[dict[str, float]]] = {"this checkout": [], "baseline": []}
    for _ in range(args.repeat):
        for name, root in (("this checkout", REPO), ("baseline", args.baseline.resolve())):
            command = [sys.executable, "-c", _RUN_ELSEWHERE, str(root), __file__]
            done = subprocess.run(
                [*command, "--repeat", "1", *passthrough],
                cwd=root,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode:  # say why, not just that it failed
                raise SystemExit(f"the run on {root} failed:\n{done.stderr[-3000:]}")
            rows = re.findall(r"^  (\S[^\n]*?)\s+([0-9.]+) s", done.stdout, flags=re.M)
            figures[name].append({label.strip(): float(value) for label, value in rows})
    load = os.getloadavg()
    print(f"alternating {args.repeat} runs each with {args.baseline} (load {load[0]:.1f})")
    for stage in (*STAGES, SECOND, *CPU):
        mine = statistics.median(r[stage] for r in figures["this checkout"])
        base = statistics.median(r[stage] for r in figures["baseline"])
        print(f"  {stage:<22} {mine:7.3f} s   baseline {base:7.3f} s   ratio {mine / base:.2f}")
    for stage in (SECOND, CPU[1]):
        pairs = zip(figures["this checkout"], figures["baseline"], strict=True)
        print(f"  {stage} per pair: " + ", ".join(f"{r[stage] / b[stage]:.2f}" for r, b in pairs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--shape", default="64,256,256", help="z,y,x of each case")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help=f"synthetic volumes of --shape instead of the real sample cases in {SAMPLE}",
    )
    parser.add_argument(
        "--baseline", type=Path, help="another checkout to alternate with (its own script)"
    )
    args = parser.parse_args()
    if args.baseline:
        passthrough = ["--cases", str(args.cases), "--shape", args.shape]
        passthrough += ["--synthetic"] if args.synthetic else []
        passthrough += ["--database-url", args.database_url] if args.database_url else []
        _alternate(args, passthrough)
        return
    shape = tuple(int(v) for v in args.shape.split(","))
    client = docker.from_env(timeout=300)
    runs = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="podium-bench-pipeline-") as tmp:
            root = Path(tmp)
            url = args.database_url or f"sqlite:///{root / 'podium.sqlite3'}"
            migrate(url)
            sample = None if args.synthetic else SAMPLE
            runs.append(one_run(client=client, database_url=url, root=root,
                                cases=args.cases, shape=shape, sample=sample))  # fmt: skip
    what = f"synthetic {shape} (z, y, x)" if args.synthetic else "real TriALS sample volumes"
    print(f"{args.cases} cases, {what}, 2 paradigms, median of {args.repeat} runs")
    for name in (*STAGES, SECOND, *CPU):
        values = [r[name] for r in runs]
        spread = f"{min(values):.3f}–{max(values):.3f}"
        print(f"  {name:<22} {statistics.median(values):7.3f} s   ({spread})")
    overheads = [r["overhead"] for r in runs]
    print(f"  overhead outside container and scorer: {statistics.median(overheads):.1%} "
          f"(runs: {', '.join(f'{o:.1%}' for o in overheads)}); goal < 10 %")  # fmt: skip


if __name__ == "__main__":
    main()
