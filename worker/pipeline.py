"""One evaluation, stage by stage, without the database: stage, run, collect, score.

:mod:`worker.tasks` reads what to do from the database, calls these functions
and writes the results back; everything here works on plain values, local
folders and a :class:`~backend.storage.Storage`, so the benchmark and the
re-scoring path use the same code.

The container sees the inputs the phase's run contract names (by default
``/input/<case><ext>``; several become ``<case>_0000<ext>``, ...; see
:mod:`worker.staging`) and must write ``/output/<case>.nii.gz``.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# The scoring library imports scipy's KD-tree on the first detected lesion; a
# long-lived worker takes it at start, not inside its first evaluation's scoring.
import scipy.spatial  # noqa: F401

from backend.challenges.contract import RunContract
from backend.storage import Storage, StorageError
from scoring.formats import EXTENSIONS, split_case_name
from scoring.labelcase import LabelCase, LabelError
from scoring.metrics import score_prediction
from scoring.results import CaseResult, Mode
from worker.cases import CaseInput, LabelSource
from worker.labelcache import LabelCache
from worker.outputs import CollectedOutputs, collect_outputs
from worker.runner.base import (
    MIB,
    ContainerRunner,
    ImageRef,
    InfrastructureError,
    RunLimits,
    RunResult,
    RunSpec,
    SubmissionFailure,
)
from worker.runner.users import explain_unprivileged
from worker.staging import stage_inputs
from worker.timings import Timings


@dataclass(slots=True, kw_only=True)
class RunOutcome:
    """A finished, successful container run and what it wrote."""

    result: RunResult
    collected: CollectedOutputs


def run_cases(
    *,
    runner: ContainerRunner,
    image: ImageRef,
    storage: Storage,
    cases: Sequence[CaseInput],
    workdir: Path,
    name: str,
    limits: RunLimits,
    gpus: tuple[str, ...] = (),
    replaces: tuple[str, ...] = (),
    timings: Timings | None = None,
    contract: RunContract | None = None,
) -> RunOutcome:
    """Stage the inputs, run the container on them and collect its predictions.

    ``contract`` is the phase's run contract (default: the original one): how
    inputs are named, the case list, the arguments and ``/dev/shm``.

    Raises
    ------
    SubmissionFailure
        The container failed (exit code, timeout, memory) or wrote no usable
        prediction at all; ``log`` carries its log.
    InfrastructureError
        Staging or the engine failed.
    """
    timings = timings or Timings()
    if workdir.exists():
        shutil.rmtree(workdir)  # a previous attempt's leftovers
    input_dir, output_dir = workdir / "input", workdir / "output"
    output_dir.mkdir(parents=True)
    contract = contract or RunContract()
    with timings.stage("load"):
        stage_inputs(storage, cases, input_dir, contract=contract)
    spec = RunSpec(
        name=name,
        image=image,
        input_dir=input_dir,
        output_dir=output_dir,
        limits=limits,
        gpus=gpus,
        replaces=replaces,
        args=contract.args,
        shm_bytes=contract.shm_size_mb * MIB,
    )
    with timings.stage("run"):
        result = runner.run(spec)
    failure = result.failure(limits)
    if failure is not None:
        failure.log = result.log
        if image.unprivileged:
            explain_unprivileged(failure, user=image.user, log=result.log)
        raise failure
    with timings.stage("collect"):
        collected = collect_outputs(
            output_dir, case_ids=[c.case_key for c in cases], notes=result.output_notes
        )
    if not collected.files:
        details = " ".join(collected.problems[:20])
        raise SubmissionFailure(
            "no_outputs",
            "The container exited normally but wrote no usable prediction to /output "
            f"(expected /output/<case>.nii.gz for each input). {details}".strip(),
            log=result.log,
        )
    return RunOutcome(result=result, collected=collected)


def label_keys(storage: Storage, label: LabelSource) -> dict[str, str]:
    """Case key -> label file key in a label-set folder."""
    keys: dict[str, str] = {}
    for key in storage.list(label.storage_path):
        parts = split_case_name(Path(key).name)
        if parts is not None:
            current = keys.get(parts[0])
            if current is None or EXTENSIONS.index(parts[1]) < EXTENSIONS.index(
                split_case_name(Path(current).name)[1]  # type: ignore[index]
            ):
                keys[parts[0]] = key
    return keys


def score_predictions(
    *,
    storage: Storage,
    cases: Sequence[CaseInput],
    labels: Mapping[str, LabelSource],
    predictions: Mapping[str, Path],
    rejected: Mapping[str, str],
    workdir: Path,
    mode: Mode = "paper",
    label_cache: LabelCache | None = None,
    threads: int = 1,
) -> dict[tuple[str, str], CaseResult]:
    """Score every case against every paradigm's labels, reading each prediction once.

    Labels are fetched to ``workdir`` (never a folder any container sees), or
    taken prepared from ``label_cache``. A
    case whose file was rejected at collection is scored as an invalid
    prediction with that reason; one without a file as missing.

    Returns
    -------
    dict
        ``(case_key, paradigm)`` -> :class:`~scoring.results.CaseResult`.

    Raises
    ------
    InfrastructureError
        A label file is missing or unreadable (the organisers' to fix).
    """
    by_set = score_label_sets(
        storage=storage,
        cases=cases,
        sources=[labels[p] for p in sorted(labels)],
        predictions=predictions,
        rejected=rejected,
        workdir=workdir,
        mode=mode,
        label_cache=label_cache,
        threads=threads,
    )
    return {
        (case.case_key, paradigm): by_set[(case.case_key, label.label_set_id)]
        for paradigm, label in sorted(labels.items())
        for case in cases
    }


def score_label_sets(
    *,
    storage: Storage,
    cases: Sequence[CaseInput],
    sources: Sequence[LabelSource],
    predictions: Mapping[str, Path],
    rejected: Mapping[str, str],
    workdir: Path,
    mode: Mode = "paper",
    label_cache: LabelCache | None = None,
    threads: int = 1,
) -> dict[tuple[str, int], CaseResult]:
    """Score every case against every label set given (paradigms, versions), one read each.

    Each prediction is read once and scored against all of ``sources``
    (:func:`scoring.metrics.score_prediction`); each result equals scoring it
    against that label set alone. ``threads`` cases are scored at a time
    (reading and decompressing release the GIL).

    Returns
    -------
    dict
        ``(case_key, label_set_id)`` -> :class:`~scoring.results.CaseResult`.

    Raises
    ------
    InfrastructureError
        A label file is missing or unreadable (the organisers' to fix).
    """
    cache = label_cache or LabelCache(None)
    available = {}
    for label in sources:  # every label present before any is scored
        available[label.label_set_id] = keys = label_keys(storage, label)
        for case in cases:
            if case.case_key not in keys:
                raise InfrastructureError(
                    f"label set {label.paradigm} v{label.version} has no label for case "
                    f"{case.case_key}"
                )

    def prepare(label: LabelSource, case_key: str) -> LabelCase:
        key = available[label.label_set_id][case_key]
        local = workdir / "labels" / f"{label.paradigm}-v{label.version}" / Path(key).name

        def load() -> LabelCase:
            if not local.exists():
                storage.fetch(key, local)
            return LabelCase.read(local, case_id=case_key, mode=mode)

        try:
            return cache.get(
                label_set=(label.label_set_id, label.sha256),
                case_key=case_key,
                mode=mode,
                load=load,
            )
        except (StorageError, LabelError) as exc:
            raise InfrastructureError(str(exc)) from exc

    def one(case: CaseInput) -> list[tuple[tuple[str, int], CaseResult]]:
        prepared = [prepare(label, case.case_key) for label in sources]
        results = score_prediction(prepared, predictions.get(case.case_key))
        if case.case_key in rejected:
            for result in results:
                result.status = "invalid"
                result.errors = [f"case {case.case_key!r}: {rejected[case.case_key]}"]
        return [
            ((case.case_key, label.label_set_id), result)
            for label, result in zip(sources, results, strict=True)
        ]

    if threads > 1 and len(cases) > 1:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="scoring") as pool:
            scored = list(pool.map(one, cases))
    else:
        scored = [one(case) for case in cases]
    return {key: result for pairs in scored for key, result in pairs}


def prediction_key(submission_id: int, filename: str) -> str:
    """Where a submission's prediction file is kept for re-scoring."""
    return f"predictions/{submission_id}/{filename}"


def store_predictions(
    storage: Storage, *, submission_id: int, files: Mapping[str, Path]
) -> dict[str, str]:
    """Keep the prediction files (case key -> storage key) so re-scoring needs no run."""
    stored = {}
    for case_key, path in sorted(files.items()):
        key = prediction_key(submission_id, path.name)
        try:
            storage.put(path, key)
        except StorageError as exc:
            raise InfrastructureError(f"cannot store the prediction of {case_key}: {exc}") from exc
        stored[case_key] = key
    return stored


def discard_predictions(storage: Storage, *, submission_id: int) -> int:
    """Remove a submission's stored predictions; returns how many files went.

    For a submission that ended without scores: re-scoring reads succeeded
    submissions only, so nothing of a failed run is worth keeping.
    """
    keys = storage.list(f"predictions/{submission_id}")
    for key in keys:
        try:
            storage.delete(key)
        except StorageError as exc:
            raise InfrastructureError(str(exc)) from exc
    return len(keys)


def fetch_predictions(
    storage: Storage, *, submission_id: int, case_keys: Sequence[str], destination: Path
) -> dict[str, Path]:
    """The stored predictions of a submission, fetched to ``destination``."""
    wanted = set(case_keys)
    found: dict[str, Path] = {}
    for key in storage.list(f"predictions/{submission_id}"):
        parts = split_case_name(Path(key).name)
        if parts is None or parts[0] not in wanted or parts[0] in found:
            continue
        local = destination / Path(key).name
        try:
            storage.fetch(key, local)
        except StorageError as exc:
            raise InfrastructureError(str(exc)) from exc
        found[parts[0]] = local
    return found


def usable_failure(
    results: Mapping[tuple[str, str], CaseResult], *, log: str = ""
) -> SubmissionFailure | None:
    """A failure when not a single case of the run could be scored."""
    if not results or any(r.status == "ok" for r in results.values()):
        return None
    reasons = sorted({e for r in results.values() for e in r.errors})
    return SubmissionFailure(
        "invalid_outputs",
        "None of the predictions could be scored. " + " ".join(reasons[:10]),
        log=log,
    )
