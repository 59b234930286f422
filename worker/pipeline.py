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
from dataclasses import dataclass
from pathlib import Path

from backend.challenges.contract import RunContract
from backend.storage import Storage, StorageError
from scoring.formats import EXTENSIONS, split_case_name
from scoring.labelcase import LabelCase, LabelError
from scoring.metrics import score_case
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
) -> dict[tuple[str, str], CaseResult]:
    """Score every case against every paradigm's labels.

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
    results: dict[tuple[str, str], CaseResult] = {}
    for paradigm, label in sorted(labels.items()):
        available = label_keys(storage, label)
        folder = workdir / "labels" / f"{paradigm}-v{label.version}"
        for case in cases:
            key = available.get(case.case_key)
            if key is None:
                raise InfrastructureError(
                    f"label set {paradigm} v{label.version} has no label for case {case.case_key}"
                )
            local = folder / Path(key).name

            def prepare(
                key: str = key, local: Path = local, case_key: str = case.case_key
            ) -> LabelCase:
                if not local.exists():
                    storage.fetch(key, local)
                return LabelCase.read(local, case_id=case_key, mode=mode)

            try:
                label_case = (label_cache or LabelCache(None)).get(
                    label_set=(label.label_set_id, label.sha256),
                    case_key=case.case_key,
                    mode=mode,
                    load=prepare,
                )
            except (StorageError, LabelError) as exc:
                raise InfrastructureError(str(exc)) from exc
            result = score_case(label_case, predictions.get(case.case_key), mode=mode)
            if case.case_key in rejected:
                result.status = "invalid"
                result.errors = [f"case {case.case_key!r}: {rejected[case.case_key]}"]
            results[(case.case_key, paradigm)] = result
    return results


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
