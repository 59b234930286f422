"""A label or input format is accepted at upload exactly when the scorer reads it.

Every format of :data:`scoring.formats.EXTENSIONS` goes from an organiser's
upload through storage to the worker's scoring (dice 1 against itself); a
``.nrrd`` archive, which the scorer does not read, is refused at upload with a
message naming the formats it does read, and nothing is kept.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.challenges.models import LabelSet
from backend.config import Settings
from backend.storage import FilesystemStorage
from scoring.formats import EXTENSIONS
from tests.backend.conftest import World, files_under
from tests.backend.factories import make_case
from tests.backend.tarballs import tar_gz
from tests.support.world import lesion_mask
from worker.cases import CaseInput, LabelSource
from worker.pipeline import score_predictions

pytestmark = pytest.mark.postgres


def _image(tmp_path, name: str, mask: np.ndarray) -> bytes:
    path = tmp_path / name
    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    image.SetSpacing((0.8, 0.8, 2.5))
    sitk.WriteImage(image, str(path))
    return path.read_bytes()


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_every_accepted_label_format_is_scored_by_the_worker(
    client: TestClient,
    world: World,
    db_session: Session,
    settings: Settings,
    tmp_path,
    extension: str,
) -> None:
    case = make_case(db_session, phase=world.phase, key="c1")
    db_session.commit()
    mask = lesion_mask(0)
    body = tar_gz([(f"labels/c1{extension}", _image(tmp_path, f"label{extension}", mask))])
    response = client.post(
        f"/api/v1/tasks/{world.phase.task_id}/label-sets/lesion",
        content=body,
        headers=world.headers("organiser"),
    )
    assert response.status_code == 201, response.text
    label_set = db_session.scalars(
        select(LabelSet).where(LabelSet.task_id == world.phase.task_id)
    ).one()
    prediction = tmp_path / "prediction" / "c1.nii.gz"
    prediction.parent.mkdir()
    prediction.write_bytes(_image(tmp_path, "prediction.nii.gz", mask))
    results = score_predictions(
        storage=FilesystemStorage(settings.data_root),
        cases=[CaseInput(case_pk=case.id, case_key="c1", input_keys=())],
        labels={
            "lesion": LabelSource(
                paradigm="lesion",
                label_set_id=label_set.id,
                version=label_set.version,
                sha256=label_set.sha256,
                storage_path=label_set.storage_path,
            )
        },
        predictions={"c1": prediction},
        rejected={},
        workdir=tmp_path / "scoring",
    )
    (result,) = results.values()
    assert (result.status, result.dice) == ("ok", 1.0)


@pytest.mark.parametrize("upload", ["labels", "inputs"])
def test_nrrd_is_refused_at_upload_naming_the_formats_the_scorer_reads(
    client: TestClient,
    world: World,
    db_session: Session,
    settings: Settings,
    tmp_path,
    upload: str,
) -> None:
    make_case(db_session, phase=world.phase, key="c1")
    db_session.commit()
    body = tar_gz([("c1.nrrd", _image(tmp_path, "c1.nrrd", lesion_mask(0)))])
    url = (
        f"/api/v1/tasks/{world.phase.task_id}/label-sets/lesion"
        if upload == "labels"
        else f"/api/v1/phases/{world.phase.id}/inputs"
    )
    response = client.post(url, content=body, headers=world.headers("organiser"))
    assert response.status_code == 422, response.text
    message = response.json()["message"]
    assert "'c1.nrrd' is not in a format the scorer reads" in message
    assert "use one of .nii.gz, .nii, .mha" in message
    assert files_under(settings.data_root) == []
    assert db_session.scalars(select(LabelSet)).all() == []
