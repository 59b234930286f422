"""Public sample cases: their inputs and labels, for teams to test their container locally.

Only cases marked ``is_sample`` are served; a hidden case answers 404 exactly
like a case that does not exist.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from backend.challenges import repository
from backend.challenges.models import Case
from backend.deps import SessionDep, SettingsDep
from backend.errors import NotFoundError
from scoring.formats import find_case_file

router = APIRouter(tags=["challenges"])


class SampleCaseOut(BaseModel):
    """A public sample case with where to download its input and labels."""

    case_key: str
    input_sha256: str | None
    input_url: str | None
    label_urls: dict[str, str]


def _sample(session: Session, phase_id: int, key: str) -> Case:
    for case in repository.list_cases(session, phase_id=phase_id, sample=True):
        if case.case_key == key:
            return case
    raise NotFoundError("sample case", key)


def _file(data_root: Path, relative: str, name: str) -> FileResponse:
    path = (data_root / relative).resolve()
    if not path.is_file() or not path.is_relative_to(data_root.resolve()):
        raise NotFoundError("file", name)
    return FileResponse(path, filename=name, media_type="application/octet-stream")


@router.get("/phases/{phase_id}/sample-cases", response_model=list[SampleCaseOut])
def list_samples(phase_id: int, session: SessionDep, settings: SettingsDep) -> list[SampleCaseOut]:
    """The phase's public sample cases (anyone), with download links."""
    context = repository.phase_context(session, phase_id)
    if context is None:
        raise NotFoundError("phase", phase_id)
    _, task, _ = context
    label_sets = repository.active_label_sets(session, task.id)
    out = []
    for case in repository.list_cases(session, phase_id=phase_id, sample=True):
        base = f"/api/v1/phases/{phase_id}/sample-cases/{case.case_key}"
        labels = {
            paradigm: f"{base}/labels/{paradigm}"
            for paradigm, label_set in sorted(label_sets.items())
            if find_case_file(settings.data_root / label_set.storage_path, case.case_key)
        }
        out.append(
            SampleCaseOut(
                case_key=case.case_key,
                input_sha256=case.input_sha256,
                input_url=f"{base}/input" if case.input_paths else None,
                label_urls=labels,
            )
        )
    return out


@router.get(
    "/phases/{phase_id}/sample-cases/{key}/input",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def sample_input(
    phase_id: int, key: str, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """Download a sample case's input image (anyone)."""
    case = _sample(session, phase_id, key)
    if not case.input_paths:
        raise NotFoundError("input of sample case", key)
    # Stored as "<key>.<16 hex of sha256><ext>"; offered as "<key><ext>".
    suffix = Path(case.input_paths[0]).name[len(key) + 17 :]
    return _file(settings.data_root, case.input_paths[0], f"{key}{suffix}")


@router.get(
    "/phases/{phase_id}/sample-cases/{key}/labels/{paradigm}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def sample_label(
    phase_id: int, key: str, paradigm: str, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """Download a sample case's label from the active label set of a paradigm (anyone)."""
    case = _sample(session, phase_id, key)
    context = repository.phase_context(session, case.phase_id)
    assert context is not None
    label_set = repository.active_label_sets(session, context[1].id).get(paradigm)
    if label_set is None:
        raise NotFoundError("active label set for paradigm", paradigm)
    path = find_case_file(settings.data_root / label_set.storage_path, key)
    if path is None:
        raise NotFoundError("label of sample case", key)
    return _file(settings.data_root, str(path.relative_to(settings.data_root)), path.name)
