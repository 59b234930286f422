"""The click files of a static run: the organisers' uploaded ones, or simulated from the labels.

Simulated files are :func:`scoring.interactive.simulate.static_clicks` of each
case's label (deterministic: the same label and settings give the same file).
Uploaded files are checked again here against the label they will be used
with (indices inside the image; clicks off the lesions are reported to the
organisers, not refused). Either way the file a container reads is written
anew by :func:`scoring.interactive.clickfile.write_click_file`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from backend.interactive.spec import Interaction
from backend.storage import Storage, StorageError
from scoring.interactive.clickfile import (
    ClickFileError,
    Clicks,
    click_file_name,
    read_click_file,
    write_click_file,
)
from scoring.interactive.simulate import static_clicks
from scoring.labelcase import LabelCase
from worker.cases import CaseInput, ClickFileSource
from worker.runner.base import InfrastructureError


def _uploaded(
    storage: Storage,
    case: CaseInput,
    label: LabelCase,
    *,
    source: ClickFileSource,
    clicks: int,
    workdir: Path,
    warnings: list[str],
) -> Clicks | None:
    """The organisers' clicks for ``case`` (``None``: the set has no file for it)."""
    name = click_file_name(case.case_key)
    local = workdir / "click-files" / name
    try:
        storage.fetch(f"{source.storage_path}/{name}", local)
    except StorageError:
        return None
    try:
        checked = read_click_file(local, count=clicks, shape=label.geometry.shape, label=label)
    except ClickFileError as exc:
        raise InfrastructureError(
            f"click set v{source.version} does not fit the label of case {case.case_key}: {exc}"
        ) from exc
    warnings.extend(f"click set v{source.version}: {w}" for w in checked.warnings)
    return checked.clicks


def write_static_click_files(
    storage: Storage,
    cases: Sequence[CaseInput],
    labels: Mapping[str, LabelCase],
    *,
    interaction: Interaction,
    source: ClickFileSource | None,
    destination: Path,
    workdir: Path,
) -> list[str]:
    """Write ``<case>_clicks.json`` for every case into ``destination`` (the run's ``/input``).

    With ``click_source: uploaded`` the phase's active click set is used (a
    sample case it has no file for is simulated); otherwise every file is
    simulated.

    Returns
    -------
    list of str
        Findings for the organisers (clicks off the lesions, simulated samples).

    Raises
    ------
    InfrastructureError
        The phase wants uploaded files and has none (for a hidden case), or a
        file does not fit its label: the organisers' to fix, never the team's.
    """
    warnings: list[str] = []
    uploaded = interaction.click_source == "uploaded"
    if uploaded and source is None:
        raise InfrastructureError(
            "the phase has click_source: uploaded but no click files were uploaded "
            "(POST /api/v1/phases/{id}/click-sets)"
        )
    for case in cases:
        label = labels[case.case_key]
        clicks = None
        if uploaded and source is not None:
            clicks = _uploaded(
                storage,
                case,
                label,
                source=source,
                clicks=interaction.clicks,
                workdir=workdir,
                warnings=warnings,
            )
            if clicks is None:
                warnings.append(f"no uploaded click file for {case.case_key}: simulated")
        if clicks is None:
            clicks = static_clicks(label, interaction.settings)
        target = destination / click_file_name(case.case_key)
        if target.exists():
            raise InfrastructureError(
                f"an input of the phase is named {target.name}, the name of case "
                f"{case.case_key}'s click file: change the phase's container.input_name"
            )
        write_click_file(target, clicks)
    return warnings
