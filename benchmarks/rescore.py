"""Re-scoring a phase from stored predictions against several label-set versions.

A phase of 70 real-size cases (the sample's ``venous_0``/``venous_11``, 637/619×512×512,
alternating, with a team's real predictions), 2 paradigms (like Task 2), 3 label-set
versions of each (version 3 active): ``worker.rescoring.rescore_phase`` with the two
other versions requested scores every stored prediction against 6 label sets and
writes 3 evaluations. Each label-set version is its own set of files (byte copies of
the real labels: the worker's label cache is keyed by label set, so every one is
prepared). No container runs.

Printed: the time of the whole job for one submission with the label cache empty
(every one of the 420 labels prepared), then for another submission of the same
phase (labels prepared, from the worker's scratch folder), then for a third with
only the active version's labels new (the usual case: the old versions were
prepared when they were used), wall-clock and CPU (every thread; on an otherwise
idle machine the wall time of 2 threads is about half of it), with
``PODIUM_SCORING_THREADS`` = ``--threads``. Target (issue 17): under a minute on
2 cores.

    .venv/bin/python -m benchmarks.rescore [--cases 70] [--versions 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from backend.challenges.models import LabelSet, Phase
from backend.db import make_engine, make_session_factory
from backend.enums import SubmissionStatus
from backend.storage import FilesystemStorage
from backend.submissions.models import Submission
from backend.teams.models import Team
from benchmarks.pipeline import SAMPLE, migrate
from tests.backend.factories import make_submission
from tests.support.world import make_world
from worker.config import WorkerSettings
from worker.context import WorkerContext
from worker.pipeline import prediction_key
from worker.rescoring import rescore_phase
from worker.runner.base import GIB

PARADIGMS = ("visible", "combined")


class NoContainers:
    """Re-scoring runs no container; anything else is a bug in the benchmark."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"re-scoring must not use the runner ({name})")


def _phase(session, *, data_root: Path, cases: int, versions: int) -> tuple[int, list[str], int]:
    world = make_world(session, data_root=data_root, cases=cases, samples=0)
    for paradigm in PARADIGMS:
        for label_set in session.scalars(select(LabelSet).where(LabelSet.task_id == world.task_id)):
            label_set.active = False
        for version in range(2, versions + 1):
            session.add(
                LabelSet(
                    task_id=world.task_id,
                    paradigm=paradigm,
                    version=version,
                    sha256=f"{paradigm}-v{version}",
                    active=False,
                    storage_path=f"labels/{world.task_id}/{paradigm}/v{version}",
                )
            )
    session.flush()
    for label_set in session.scalars(select(LabelSet).where(LabelSet.task_id == world.task_id)):
        label_set.active = label_set.version == versions
    for index, key in enumerate(world.case_keys):
        real = ("venous_0", "venous_11")[index % 2]
        label = (SAMPLE / "labels" / f"{real}.nii.gz").read_bytes()
        for paradigm in PARADIGMS:
            for version in range(1, versions + 1):
                path = data_root / f"labels/{world.task_id}/{paradigm}/v{version}/{key}.nii.gz"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(label)
    return world.phase_id, world.case_keys, world.team_id


def _submission(session, storage, *, phase_id: int, team_id: int, keys: list[str]) -> int:
    phase, team = session.get(Phase, phase_id), session.get(Team, team_id)
    phase.submission_limit = 100
    submission = make_submission(session, team=team, phase=phase)
    submission.status = SubmissionStatus.SUCCEEDED
    session.flush()
    for index, key in enumerate(keys):
        real = ("venous_0", "venous_11")[index % 2]
        storage.put(
            SAMPLE / "predictions" / f"{real}.nii.gz",
            prediction_key(submission.id, f"{key}.nii.gz"),
        )
    return submission.id


ROUNDS = (
    "every label set new (cold label cache)",
    "every label set prepared (another submission)",
    "only the active version new (another submission)",
)


def _cpu() -> float:
    """CPU seconds of this process so far, every thread (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=70)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="podium-bench-rescore-") as tmp:
        root = Path(tmp)
        url = f"sqlite:///{root / 'podium.sqlite3'}"
        migrate(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        settings = WorkerSettings(
            database_url=url,
            data_root=root / "data",
            work_dir=root / "work",
            output_bytes=1 * GIB,
            scoring_threads=args.threads,
        )
        storage = FilesystemStorage(settings.data_root)
        context = WorkerContext(
            session_factory=factory, storage=storage, runner=NoContainers(), settings=settings
        )
        with factory.begin() as session:
            phase_id, keys, team_id = _phase(
                session, data_root=settings.data_root, cases=args.cases, versions=args.versions
            )
            first = _submission(session, storage, phase_id=phase_id, team_id=team_id, keys=keys)
            newest = [
                ls.id for ls in session.scalars(select(LabelSet).where(LabelSet.active.is_(True)))
            ]
        others = [dict.fromkeys(PARADIGMS, v) for v in range(1, args.versions)]
        cache = settings.scratch_dir / "label-cache"
        timings = []
        current = first
        for round_, what in enumerate(ROUNDS):
            if round_:  # another submission; the previous one leaves the phase's succeeded ones
                with factory.begin() as session:
                    session.get(Submission, current).status = SubmissionStatus.FAILED
                    current = _submission(
                        session, storage, phase_id=phase_id, team_id=team_id, keys=keys
                    )
            if what == ROUNDS[2]:  # the newest version's labels were never prepared
                for folder in cache.glob("v*/*"):
                    if folder.name.split("-")[0] in {str(i) for i in newest}:
                        shutil.rmtree(folder)
            started, cpu = time.perf_counter(), _cpu()
            assert rescore_phase(phase_id, versions=others, context=context) == 1
            timings.append((time.perf_counter() - started, _cpu() - cpu))
        engine.dispose()
    load = os.getloadavg()
    print(
        f"re-scoring {args.cases} cases x {args.versions} label-set versions x "
        f"{len(PARADIGMS)} paradigms ({args.cases * args.versions * len(PARADIGMS)} scores, "
        f"{args.cases} predictions read once each), {args.threads} scoring threads"
    )
    for what, (wall, cpu) in zip(ROUNDS, timings, strict=True):
        print(f"  {what:<52} {wall:7.1f} s wall, {cpu:7.1f} s CPU (all threads)")
    print(f"  load average at the end: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}")


if __name__ == "__main__":
    main()
