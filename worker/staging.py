"""What a container finds in ``/input``: the cases' input files and the case list.

Only the test inputs of the run's cases go there (never labels), named by the
phase's run contract (:meth:`backend.challenges.contract.RunContract.input_names`):
``<case><ext>`` by default (several inputs ``<case>_0000<ext>``, ...), or the
organiser's ``input_name`` pattern such as TriALS' ``{case}_0000{ext}``. With
``cases_csv`` set, the case keys are written there too, one per line in run
order, without a header (the file TriALS' ``run.sh`` receives as ``$1``).
The folder is mounted read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from backend.challenges.contract import RunContract
from backend.storage import Storage, StorageError
from scoring.formats import split_case_name
from worker.cases import CaseInput
from worker.runner.base import InfrastructureError

#: Where the staged folder appears in the container.
INPUT_MOUNT = PurePosixPath("/input")


def input_names(case: CaseInput, contract: RunContract | None = None) -> list[str]:
    """The file names a case's inputs get in ``/input``.

    Examples
    --------
    >>> input_names(CaseInput(case_pk=1, case_key="c7", input_keys=("x/a.nii.gz",)))
    ['c7.nii.gz']
    >>> input_names(CaseInput(case_pk=1, case_key="c7", input_keys=("a.nii.gz", "b.mha")))
    ['c7_0000.nii.gz', 'c7_0001.mha']
    >>> trials = RunContract(input_name="{case}_0000{ext}")
    >>> input_names(CaseInput(case_pk=1, case_key="venous_0", input_keys=("v.nii.gz",)), trials)
    ['venous_0_0000.nii.gz']
    """
    extensions = []
    for key in case.input_keys:
        parts = split_case_name(Path(key).name)
        extensions.append(parts[1] if parts else ".nii.gz")
    try:
        return (contract or RunContract()).input_names(case.case_key, extensions)
    except ValueError as exc:  # the organiser's pattern, not the team's image
        raise InfrastructureError(str(exc)) from exc


def cases_csv_text(cases: Sequence[CaseInput]) -> str:
    """The case list: one key per line, no header.

    Examples
    --------
    >>> cases_csv_text([CaseInput(case_pk=1, case_key="venous_0", input_keys=()),
    ...                 CaseInput(case_pk=2, case_key="venous_11", input_keys=())])
    'venous_0\\nvenous_11\\n'
    """
    return "".join(f"{case.case_key}\n" for case in cases)


def stage_inputs(
    storage: Storage,
    cases: Sequence[CaseInput],
    destination: Path,
    *,
    contract: RunContract | None = None,
) -> None:
    """Put the cases' input files (and the case list, if asked) into ``destination``.

    Raises
    ------
    InfrastructureError
        An input cannot be fetched, or the contract names two files alike (the
        organiser's configuration; the team is not charged).
    """
    contract = contract or RunContract()
    destination.mkdir(parents=True, exist_ok=True)
    placed: dict[str, str] = {}
    for case in cases:
        for key, name in zip(case.input_keys, input_names(case, contract), strict=True):
            if name in placed:
                raise InfrastructureError(
                    f"inputs of cases {placed[name]} and {case.case_key} are both named {name} "
                    "in /input: the phase's container.input_name must keep cases apart"
                )
            placed[name] = case.case_key
            try:
                storage.fetch(key, destination / name)
            except StorageError as exc:
                raise InfrastructureError(f"input of case {case.case_key}: {exc}") from exc
    if contract.cases_csv is not None:
        relative = PurePosixPath(contract.cases_csv).relative_to(INPUT_MOUNT)
        if relative.parts[0] in placed:
            raise InfrastructureError(
                f"the case list {contract.cases_csv} has the name of an input file"
            )
        target = destination.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(cases_csv_text(cases), encoding="utf-8")
