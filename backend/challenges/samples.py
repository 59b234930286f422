"""Public sample cases: their inputs and labels, for teams to test their container locally.

Only cases marked ``is_sample`` are served; a hidden case answers 404 exactly
like a case that does not exist.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from backend.challenges import repository
from backend.challenges.models import Case
from backend.deps import SessionDep, StorageDep
from backend.errors import NotFoundError
from backend.storage import Storage, StorageError, read_chunks
from scoring.formats import EXTENSIONS

_CHUNK = 1024 * 1024

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


def _file(storage: Storage, key: str, name: str) -> StreamingResponse:
    try:
        stream = storage.open(key)
    except (StorageError, ValueError) as exc:
        raise NotFoundError("file", name) from exc
    return StreamingResponse(
        read_chunks(stream),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _label_key(storage: Storage, folder: str, key: str) -> str | None:
    stored = set(storage.list(folder))
    for suffix in EXTENSIONS:
        if f"{folder}/{key}{suffix}" in stored:
            return f"{folder}/{key}{suffix}"
    return None


@router.get("/phases/{phase_id}/sample-cases", response_model=list[SampleCaseOut])
def list_samples(phase_id: int, session: SessionDep, storage: StorageDep) -> list[SampleCaseOut]:
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
            if _label_key(storage, label_set.storage_path, case.case_key)
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
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def sample_input(
    phase_id: int, key: str, session: SessionDep, storage: StorageDep
) -> StreamingResponse:
    """Download a sample case's input image (anyone)."""
    case = _sample(session, phase_id, key)
    if not case.input_paths:
        raise NotFoundError("input of sample case", key)
    # Stored as "<key>.<16 hex of sha256><ext>"; offered as "<key><ext>".
    suffix = PurePosixPath(case.input_paths[0]).name[len(key) + 17 :]
    return _file(storage, case.input_paths[0], f"{key}{suffix}")


@router.get(
    "/phases/{phase_id}/sample-cases/{key}/labels/{paradigm}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def sample_label(
    phase_id: int, key: str, paradigm: str, session: SessionDep, storage: StorageDep
) -> StreamingResponse:
    """Download a sample case's label from the active label set of a paradigm (anyone)."""
    case = _sample(session, phase_id, key)
    context = repository.phase_context(session, case.phase_id)
    assert context is not None
    label_set = repository.active_label_sets(session, context[1].id).get(paradigm)
    if label_set is None:
        raise NotFoundError("active label set for paradigm", paradigm)
    label = _label_key(storage, label_set.storage_path, key)
    if label is None:
        raise NotFoundError("label of sample case", key)
    return _file(storage, label, PurePosixPath(label).name)
