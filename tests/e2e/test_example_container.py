"""The example participant container: built without a registry, run in the sandbox.

Builds ``examples/threshold-model`` with its own build script (static C binary,
``docker import``, ``docker save``), loads the saved tarball the way a submission
arrives, runs it on two synthetic cases under the platform's sandbox flags and
checks that its predictions have the input's geometry and find the lesions.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK")

from backend.submissions.image_archive import inspect_image_archive  # noqa: E402
from demo.data import write_volume  # noqa: E402 - after the importorskip
from demo.phantom import synthesize_phantom  # noqa: E402

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "examples" / "threshold-model" / "build.py"
SPACING = (3.0, 3.0, 2.5)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum() + b.sum())
    return 2.0 * int((a & b).sum()) / total if total else 1.0


@pytest.fixture(scope="module")
def saved_image(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The example image, built by its script, saved, removed and loaded back from the tarball."""
    tag = f"podium-test/threshold-model:{uuid.uuid4().hex[:12]}"
    tarball = tmp_path_factory.mktemp("image") / "threshold-model.tar.gz"
    result = subprocess.run(
        [sys.executable, str(BUILD), "--tag", tag, "--save", str(tarball)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == tag
    docker_client.images.remove(tag, force=True)
    (image,) = docker_client.images.load(tarball.read_bytes())
    image.tarball = tarball
    yield image
    docker_client.images.remove(image.id, force=True)


def test_image_is_minimal_and_unprivileged(saved_image: Any) -> None:
    config = saved_image.attrs["Config"]
    assert config["User"] == "1000:1000"
    assert config["Entrypoint"] == ["/predict"]
    # One static binary and nothing else: well under the 2 MB of a busybox image.
    assert saved_image.attrs["Size"] < 2_000_000


def test_upload_checks_accept_the_saved_tarball(saved_image: Any) -> None:
    info = inspect_image_archive(saved_image.tarball)
    assert (info.os, info.architecture, info.user) == ("linux", "amd64", "1000:1000")
    assert info.entrypoint == ["/predict"]


def test_predicts_lesions_in_the_sandbox(
    docker_client: Any, saved_image: Any, tmp_path: Path
) -> None:
    venous = synthesize_phantom(seed=11, n_lesions=3)
    ncct = synthesize_phantom(seed=5, n_lesions=3)
    assert venous.n_lesions == 3
    assert ncct.n_visible > 0, "the NCCT case must show a lesion for the check to mean anything"
    input_dir, output_dir = tmp_path / "input", tmp_path / "output"
    input_dir.mkdir(mode=0o755)
    output_dir.mkdir()
    output_dir.chmod(0o777)  # the container's user is 1000, not the test's
    cases = {
        "case_venous": (venous.venous, venous.venous_label),
        "case_ncct": (ncct.noncontrast, ncct.visible_label),
    }
    for key, (scan, _label) in cases.items():
        write_volume(input_dir / f"{key}.nii.gz", scan, spacing=SPACING)
        (input_dir / f"{key}.nii.gz").chmod(0o644)

    container = docker_client.containers.run(
        saved_image.id,
        detach=True,
        network_mode="none",
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        user="1000:1000",
        tmpfs={"/tmp": "size=16m,mode=1777"},
        mem_limit="256m",
        memswap_limit="256m",
        pids_limit=16,
        volumes={
            str(input_dir): {"bind": "/input", "mode": "ro"},
            str(output_dir): {"bind": "/output", "mode": "rw"},
        },
    )
    try:
        status = container.wait(timeout=60)
        logs = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 0, logs
    assert "[2/2]" in logs

    for key, (_scan, label) in cases.items():
        written = output_dir / f"{key}.nii.gz"
        assert written.is_file(), f"no prediction for {key}; log:\n{logs}"
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
    docker_client: Any, saved_image: Any, tmp_path: Path
) -> None:
    tmp_path.chmod(0o755)
    container = docker_client.containers.run(
        saved_image.id,
        detach=True,
        network_mode="none",
        read_only=True,
        cap_drop=["ALL"],
        volumes={str(tmp_path): {"bind": "/input", "mode": "ro"}},
    )
    try:
        status = container.wait(timeout=30)
        logs = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 2
    assert "no .nii.gz or .nii images in /input" in logs
