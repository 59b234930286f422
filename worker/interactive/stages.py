"""An interactive run, stage by stage and without the database: stage, run, collect, score.

The counterpart of :mod:`worker.pipeline` for phases with an ``interaction:``
block. Static mode stages each case's click file beside its input and
collects ``/output/<case>/<case>_<k>.nii.gz``; a closed loop mounts the inbox
read-only and lets :class:`~worker.interactive.loop.ClosedLoop` drive the
container while it runs. Both end with the same per-case
:class:`~scoring.interactive.score.ClickPredictions`, scored against every
paradigm (:func:`score_interactive`).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from backend.challenges.contract import RunContract
from backend.interactive.spec import Interaction
from backend.storage import Storage
from scoring.interactive.results import InteractiveCaseResult
from scoring.interactive.score import ClickPredictions, score_interactive_case
from scoring.labelcase import LabelCase
from scoring.results import CaseResult
from worker.cases import CaseInput, ClickFileSource, LabelSource
from worker.interactive.clicks import write_static_click_files
from worker.interactive.collect import collect_static
from worker.interactive.labels import prepared_labels
from worker.interactive.loop import ClosedLoop
from worker.interactive.protocol import INBOX_MOUNT, Inbox
from worker.labelcache import LabelCache
from worker.outputs import DEFAULT_MAX_FILE_BYTES
from worker.runner.base import (
    MIB,
    ContainerRunner,
    ImageRef,
    RunLimits,
    RunResult,
    RunSpec,
    SubmissionFailure,
)
from worker.runner.users import explain_unprivileged
from worker.staging import stage_inputs
from worker.timings import Timings

#: What each mode expects, for the messages of a run that wrote nothing usable.
_EXPECTED = {
    "static": (
        "expected /output/<case>/<case>_<k>.nii.gz for k = 0…N for each case of the case list, "
        "using the first k clicks of /input/<case>_clicks.json"
    ),
    "closed_loop": (
        "expected, for each request /clicks/<case>/<case>_<k>_clicks.json, the prediction "
        "/output/<case>/<case>_<k>.nii.gz and then the empty file /output/<case>/<case>_<k>.done "
        "(docs/participants.md, 'Interactive phases')"
    ),
}


@dataclass(slots=True, kw_only=True)
class InteractiveRun:
    """A finished, successful interactive run and what it produced.

    Attributes
    ----------
    result
        The container run.
    predictions
        Case id -> its per-click files (every case of the run).
    problems
        Findings on the outputs, for the team.
    notes
        Findings on the organisers' click files (for the log, not the team).
    loop
        The closed loop's driver (its per-step timings), if one ran.
    """

    result: RunResult
    predictions: dict[str, ClickPredictions]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    loop: ClosedLoop | None = None


def run_interactive(
    *,
    runner: ContainerRunner,
    image: ImageRef,
    storage: Storage,
    cases: Sequence[CaseInput],
    labels: Mapping[str, LabelCase],
    interaction: Interaction,
    workdir: Path,
    name: str,
    limits: RunLimits,
    click_files: ClickFileSource | None = None,
    gpus: tuple[str, ...] = (),
    replaces: tuple[str, ...] = (),
    timings: Timings | None = None,
    contract: RunContract | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> InteractiveRun:
    """Stage, run the container (driving it in a closed loop) and collect its predictions.

    ``labels`` are the cases' labels of the phase's click paradigm (static
    clicks and closed-loop clicks are simulated from them).

    Raises
    ------
    SubmissionFailure
        The container failed (exit code, timeout, memory) or produced no
        prediction at all; ``log`` carries its log.
    InfrastructureError
        Staging, the click files or the engine failed.
    """
    timings = timings or Timings()
    contract = contract or RunContract()
    if workdir.exists():
        shutil.rmtree(workdir)  # a previous attempt's leftovers
    input_dir, output_dir = workdir / "input", workdir / "output"
    output_dir.mkdir(parents=True)
    notes: list[str] = []
    loop: ClosedLoop | None = None
    with timings.stage("load"):
        stage_inputs(storage, cases, input_dir, contract=contract)
        if interaction.closed_loop:
            loop = ClosedLoop(
                cases=[c.case_key for c in cases],
                labels=labels,
                interaction=interaction,
                inbox=Inbox(workdir / "clicks"),
                predictions_dir=workdir / "predictions",
                max_file_bytes=max_file_bytes,
            )
        else:
            notes = write_static_click_files(
                storage,
                cases,
                labels,
                interaction=interaction,
                source=click_files,
                destination=input_dir,
                workdir=workdir,
            )
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
        output_depth=0 if loop is not None else 2,
        inbox_dir=None if loop is None else loop.inbox.folder,
        inbox_mount=str(INBOX_MOUNT),
        driver=loop,
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
        if loop is not None:
            predictions = {case: state.predictions() for case, state in loop.results.items()}
            problems = [w for state in loop.results.values() for w in state.warnings]
        else:
            predictions, problems = collect_static(
                output_dir,
                case_ids=[c.case_key for c in cases],
                clicks=interaction.clicks,
                max_file_bytes=max_file_bytes,
                notes=result.output_notes,
            )
    if not any(p is not None for found in predictions.values() for p in found.paths):
        invalid = [f"{v}." for found in predictions.values() for v in found.invalid.values()]
        details = " ".join([*dict.fromkeys(invalid), *problems][:20])
        raise SubmissionFailure(
            "no_outputs",
            f"The container wrote no usable prediction ({_EXPECTED[interaction.mode]}). "
            f"{details}".strip(),
            log=result.log,
        )
    return InteractiveRun(
        result=result, predictions=predictions, problems=problems, notes=notes, loop=loop
    )


def score_interactive(
    *,
    storage: Storage,
    cases: Sequence[CaseInput],
    labels: Mapping[str, LabelSource],
    predictions: Mapping[str, ClickPredictions],
    clicks: int,
    workdir: Path,
    label_cache: LabelCache | None = None,
) -> dict[tuple[str, str], InteractiveCaseResult]:
    """Score every case's N + 1 predictions against every paradigm's labels (``paper`` mode).

    Returns
    -------
    dict
        ``(case_key, paradigm)`` -> :class:`~scoring.interactive.results.InteractiveCaseResult`.

    Raises
    ------
    InfrastructureError
        A label is missing or unreadable.
    """
    results: dict[tuple[str, str], InteractiveCaseResult] = {}
    for paradigm, label in sorted(labels.items()):
        prepared = prepared_labels(storage, cases, label, workdir=workdir, label_cache=label_cache)
        for case in cases:
            found = predictions.get(case.case_key) or ClickPredictions(paths=[None] * (clicks + 1))
            results[(case.case_key, paradigm)] = score_interactive_case(
                prepared[case.case_key], found, mode="paper"
            )
    return results


def lesion_view(
    results: Mapping[tuple[str, str], InteractiveCaseResult],
) -> dict[tuple[str, str], CaseResult]:
    """Each case's lesion-wise result at N clicks: the CaseScore every board already reads."""
    view: dict[tuple[str, str], CaseResult] = {}
    for key, result in results.items():
        lesions = result.steps[result.clicks].lesions
        if lesions is None:  # pragma: no cover - every scored step carries one
            raise ValueError(f"case {result.case_id!r} has no lesion-wise result")
        view[key] = lesions
    return view


def usable_failure(
    results: Mapping[tuple[str, str], InteractiveCaseResult], *, log: str = ""
) -> SubmissionFailure | None:
    """A failure when not a single prediction of the run could be scored."""
    if not results or any(s.status == "ok" for r in results.values() for s in r.steps):
        return None
    reasons = list(dict.fromkeys(e for r in results.values() for e in r.errors))
    message = "None of the predictions could be scored. " + " ".join(reasons[:10])
    return SubmissionFailure("invalid_outputs", message, log=log)


def summary(
    results: Mapping[tuple[str, str], InteractiveCaseResult], problems: Sequence[str], clicks: int
) -> str:
    """The submission's message: how many cases were scored, and what was wrong."""
    complete = {k for (k, _), r in results.items() if r.status == "ok"}
    cases = {k for k, _ in results}
    text = (
        f"Scored {len(cases)} cases at 0…{clicks} clicks; {len(complete)} with every "
        "prediction usable."
    )
    if problems:
        text += " Problems with the outputs: " + " ".join(list(dict.fromkeys(problems))[:50])
    return text
