"""The example participant container: built without a registry, run in the sandbox.

Builds ``examples/threshold-model`` with its own build script (static C binary,
``docker import``, ``docker save``), checks the saved tarball the way an upload is
checked, loads and runs it with the worker's own sandboxed runner on two
synthetic cases, and checks that its predictions have the input's geometry and
find the lesions.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK")

from backend.submissions.image_archive import inspect_image_archive  # noqa: E402
from demo.data import write_volume  # noqa: E402 - after the importorskip
from demo.phantom import synthesize_phantom  # noqa: E402
from worker.runner.base import MIB, ImageRef, RunLimits, RunSpec  # noqa: E402
from worker.runner.docker import DockerRunner  # noqa: E402

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "examples" / "threshold-model" / "build.py"
SPACING = (3.0, 3.0, 2.5)
LIMITS = RunLimits(
    wall_seconds=60,
    memory_bytes=256 * MIB,
    pids=16,
    cpus=1.0,
    output_bytes=64 * MIB,
    tmp_bytes=16 * MIB,
)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum() + b.sum())
    return 2.0 * int((a & b).sum()) / total if total else 1.0


@pytest.fixture(scope="module")
def tarball(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example image as a team uploads it, built by its script; the tag is removed."""
    tag = f"podium-test/threshold-model:{uuid.uuid4().hex[:12]}"
    path = tmp_path_factory.mktemp("image") / "threshold-model.tar.gz"
    result = subprocess.run(
        [sys.executable, str(BUILD), "--tag", tag, "--save", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == tag
    docker_client.images.remove(tag, force=True)
    return path


@pytest.fixture(scope="module")
def loaded(tarball: Path, docker_client: Any) -> Iterator[tuple[DockerRunner, ImageRef]]:
    """The tarball loaded by the worker's runner, as a submission's image is."""
    runner = DockerRunner(client_factory=lambda: docker_client)
    image = runner.load_image(tarball, expected_id=inspect_image_archive(tarball).digest)
    yield runner, image
    runner.remove_image(image)


def _run(runner: DockerRunner, image: ImageRef, tmp_path: Path, inputs: dict[str, Any]):
    input_dir, output_dir = tmp_path / "input", tmp_path / "output"
    input_dir.mkdir(mode=0o755)
    output_dir.mkdir()
    for key, scan in inputs.items():
        write_volume(input_dir / f"{key}.nii.gz", scan, spacing=SPACING)
        (input_dir / f"{key}.nii.gz").chmod(0o644)
    spec = RunSpec(
        name=f"podium-test-example-{uuid.uuid4().hex[:8]}",
        image=image,
        input_dir=input_dir,
        output_dir=output_dir,
        limits=LIMITS,
    )
    return runner.run(spec), input_dir, output_dir


def test_upload_checks_accept_the_saved_tarball(tarball: Path) -> None:
    info = inspect_image_archive(tarball)
    assert (info.os, info.architecture, info.user) == ("linux", "amd64", "1000:1000")
    assert info.entrypoint == ["/predict"]
    # One static binary and nothing else: well under the 2 MB of a busybox image.
    assert tarball.stat().st_size < 2_000_000


def test_predicts_lesions_in_the_sandbox(
    loaded: tuple[DockerRunner, ImageRef], tmp_path: Path
) -> None:
    runner, image = loaded
    assert image.user == "1000:1000"
    venous = synthesize_phantom(seed=11, n_lesions=3)
    ncct = synthesize_phantom(seed=5, n_lesions=3)
    assert venous.n_lesions == 3
    assert ncct.n_visible > 0, "the NCCT case must show a lesion for the check to mean anything"
    labels = {"case_venous": venous.venous_label, "case_ncct": ncct.visible_label}
    result, input_dir, output_dir = _run(
        runner, image, tmp_path, {"case_venous": venous.venous, "case_ncct": ncct.noncontrast}
    )
    assert result.failure(LIMITS) is None, result.log
    assert "[2/2]" in result.log
    assert result.output_notes == ()

    for key, label in labels.items():
        written = output_dir / f"{key}.nii.gz"
        assert written.is_file(), f"no prediction for {key}; log:\n{result.log}"
        prediction = sitk.ReadImage(str(written))
        reference = sitk.ReadImage(str(input_dir / f"{key}.nii.gz"))
        assert prediction.GetPixelID() == sitk.sitkUInt8
        assert prediction.GetSize() == reference.GetSize()
        np.testing.assert_allclose(prediction.GetSpacing(), reference.GetSpacing(), rtol=1e-6)
        np.testing.assert_allclose(prediction.GetOrigin(), reference.GetOrigin(), atol=1e-4)
        np.testing.assert_allclose(prediction.GetDirection(), reference.GetDirection(), atol=1e-6)
        array = sitk.GetArrayFromImage(prediction)
        assert set(np.unique(array)) <= {0, 1}
        assert _dice(array == 1, label == 1) > 0.5, key


def test_empty_input_folder_fails_with_a_message(
    loaded: tuple[DockerRunner, ImageRef], tmp_path: Path
) -> None:
    runner, image = loaded
    result, _, output_dir = _run(runner, image, tmp_path, {})
    failure = result.failure(LIMITS)
    assert failure is not None
    assert failure.kind == "nonzero_exit"
    assert result.exit_code == 2
    assert "no .nii.gz or .nii images in /input" in result.log
    assert list(output_dir.iterdir()) == []
