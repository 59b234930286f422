"""A small challenge world on disk and in the database, for worker and end-to-end tests.

One task scored on two paradigms like TriALS Task 2 (``visible``, ``combined``)
with tiny synthetic volumes: each input *is* a lesion mask, so a container that
copies ``/input`` to ``/output`` predicts the ``visible`` label exactly, and
misses the one extra lesion the ``combined`` label has.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk
from sqlalchemy.orm import Session

from backend.challenges.models import Case, LabelSet, Phase
from backend.enums import PhaseKind, SubmissionStatus
from backend.teams.models import Team
from tests.backend.factories import make_phase, make_submission, make_team
from tests.support.images import save_image

SHAPE_ZYX = (8, 10, 12)
SPACING = (0.8, 0.8, 2.5)


def write_mask(path: Path, mask: np.ndarray, *, spacing=SPACING) -> None:
    """Write a (z, y, x) uint8 array as NIfTI with the test spacing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))


def lesion_mask(index: int) -> np.ndarray:
    """Two small lesions whose place depends on the case index."""
    mask = np.zeros(SHAPE_ZYX, dtype=np.uint8)
    o = index % 3
    mask[1:3, 1 + o : 4 + o, 1:4] = 1
    mask[5:7, 5:8, 6 + o : 9 + o] = 1
    return mask


@dataclass
class World:
    """Ids and paths of what :func:`make_world` created."""

    data_root: Path
    phase_id: int
    task_id: int
    team_id: int
    case_keys: list[str]
    sample_keys: list[str]
    case_pks: dict[str, int] = field(default_factory=dict)
    paradigms: tuple[str, ...] = ("visible", "combined")

    def add_submission(
        self,
        session: Session,
        *,
        docker_client: Any = None,
        image: str | None = None,
        slot_limit: int = 10,
    ) -> int:
        """A queued submission of ``image``, saved as its tarball under the data root.

        Without ``image`` (tests with :class:`tests.support.fake_runner.FakeRunner`)
        the tarball is a placeholder and the digest made up.
        """
        phase = session.get(Phase, self.phase_id)
        team = session.get(Team, self.team_id)
        assert phase is not None
        assert team is not None
        phase.submission_limit = slot_limit
        submission = make_submission(session, team=team, phase=phase)
        key = f"submissions/{submission.id}/image.tar"
        tarball = self.data_root / key
        tarball.parent.mkdir(parents=True, exist_ok=True)
        if image is None:
            tarball.write_bytes(b"a placeholder: the fake runner loads nothing")
            submission.image_digest = f"sha256:{submission.id:064x}"
        else:
            submission.image_digest = save_image(docker_client, image, tarball)
        submission.tarball_sha256 = hashlib.sha256(tarball.read_bytes()).hexdigest()
        submission.tarball_path = key
        submission.status = SubmissionStatus.QUEUED
        session.flush()
        return submission.id


def make_world(
    session: Session,
    *,
    data_root: Path,
    cases: int = 2,
    samples: int = 1,
    kind: PhaseKind = PhaseKind.VALIDATION,
    time_limit_s: int = 10,
    memory_limit_mb: int = 128,
) -> World:
    """Create a phase with ``cases`` hidden and ``samples`` sample cases, labels and a team."""
    phase = make_phase(session, kind=kind)
    phase.time_limit_s = time_limit_s
    phase.memory_limit_mb = memory_limit_mb
    phase.gpu = False
    task = phase.task
    task.paradigms = ["visible", "combined"]
    team = make_team(session, challenge_id=task.challenge_id)
    keys = [f"case_{i:03d}" for i in range(cases)]
    sample_keys = [f"sample_{i}" for i in range(samples)]
    world = World(
        data_root=data_root,
        phase_id=phase.id,
        task_id=task.id,
        team_id=team.id,
        case_keys=keys,
        sample_keys=sample_keys,
    )
    for paradigm in world.paradigms:
        session.add(
            LabelSet(
                task_id=task.id,
                paradigm=paradigm,
                version=1,
                sha256=f"{paradigm}-v1",
                active=True,
                storage_path=f"labels/{task.id}/{paradigm}/v1",
            )
        )
    for index, key in enumerate(keys + sample_keys):
        input_key = f"inputs/{phase.id}/{key}.nii.gz"
        mask = lesion_mask(index)
        write_mask(data_root / input_key, mask)
        write_mask(data_root / f"labels/{task.id}/visible/v1/{key}.nii.gz", mask)
        combined = mask.copy()
        combined[4, 0:2, 0:2] = 1  # a lesion only the fused label shows
        write_mask(data_root / f"labels/{task.id}/combined/v1/{key}.nii.gz", combined)
        case = Case(
            phase_id=phase.id,
            case_key=key,
            is_sample=key in sample_keys,
            input_paths=[input_key],
        )
        session.add(case)
        session.flush()
        world.case_pks[key] = case.id
    session.flush()
    return world
