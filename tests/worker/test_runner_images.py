"""Loading submission images: digest check, non-root user, removal, engine failures."""

from __future__ import annotations

import uuid

import docker
import pytest

from tests.support.engines import ENGINE_NAMES, engine_client, is_containerd_store
from tests.support.images import build_image, save_image, shell_image
from tests.support.sandbox import TEST_LIMITS
from worker.runner.base import InfrastructureError, RunSpec, SubmissionFailure
from worker.runner.docker import DockerRunner

pytestmark = pytest.mark.docker


@pytest.fixture(params=ENGINE_NAMES)
def docker_client(request):
    """Every test here runs on both image stores (tests/support/engines.py)."""
    return engine_client(request)


def _unique_saved_image(docker_client, tmp_path, **kwargs):
    """A fresh image saved to a tarball and then removed from the engine."""
    reference = build_image(
        docker_client,
        files={"/marker": uuid.uuid4().hex},
        entrypoint=["/bin/sh", "-c", "echo loaded > /output/case_a.nii.gz"],
        **kwargs,
    )
    tarball = tmp_path / f"{uuid.uuid4().hex}.tar"
    image_id = save_image(docker_client, reference, tarball)
    docker_client.images.remove(reference)
    return tarball, image_id


def _spec(image, tmp_path, name):
    (tmp_path / name / "in").mkdir(parents=True)
    (tmp_path / name / "out").mkdir()
    return RunSpec(
        name=name,
        image=image,
        input_dir=tmp_path / name / "in",
        output_dir=tmp_path / name / "out",
        limits=TEST_LIMITS,
    )


def _ids(docker_client) -> set[str]:
    return {image.id for image in docker_client.images.list(all=True)}


def test_tarball_is_loaded_run_and_removed(docker_client, runner, tmp_path):
    tarball, config_digest = _unique_saved_image(docker_client, tmp_path)
    before = _ids(docker_client)
    image = runner.load_image(tarball, expected_id=config_digest)
    assert image.loaded
    # The engine's own ID: the config digest on the classic store, the digest of
    # the manifest it made on the containerd store.
    assert (image.image_id == config_digest) == (not is_containerd_store(docker_client))
    assert _ids(docker_client) - before == {image.image_id}
    assert image.user == "1000:1000"
    result = runner.run(_spec(image, tmp_path, f"podium-sub-load{uuid.uuid4().hex[:8]}-1"))
    assert result.exit_code == 0
    runner.remove_image(image)
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(image.image_id)


def test_an_image_already_present_is_neither_loaded_nor_removed(docker_client, runner, tmp_path):
    reference = shell_image(docker_client, "true")
    tarball = tmp_path / "present.tar"
    config_digest = save_image(docker_client, reference, tarball)
    image = runner.load_image(tarball, expected_id=config_digest)
    assert not image.loaded
    assert image.image_id == docker_client.images.get(reference).id
    runner.remove_image(image)
    assert docker_client.images.get(reference).id == image.image_id


def test_a_tarball_holding_another_image_is_refused_and_unloaded(docker_client, runner, tmp_path):
    tarball, _ = _unique_saved_image(docker_client, tmp_path)
    before = _ids(docker_client)
    expected = "sha256:" + "ab" * 32
    with pytest.raises(InfrastructureError, match="not the accepted image"):
        runner.load_image(tarball, expected_id=expected)
    assert _ids(docker_client) == before


def test_a_file_that_is_not_an_image_is_the_teams_fault(runner, tmp_path):
    tarball = tmp_path / "garbage.tar"
    tarball.write_bytes(b"this is not a tar archive" * 100)
    with pytest.raises(SubmissionFailure) as caught:
        runner.load_image(tarball, expected_id="sha256:" + "cd" * 32)
    assert caught.value.kind == "image_invalid"


@pytest.mark.parametrize("user", [None, "root", "0", "0:0", "root:app"])
def test_root_images_are_refused(docker_client, runner, user):
    reference = shell_image(docker_client, "true", user=user)
    with pytest.raises(SubmissionFailure) as caught:
        runner.present_image(reference)
    assert caught.value.kind == "image_user"
    assert "USER 1000:1000" in caught.value.message or "root" in caught.value.message


@pytest.mark.parametrize(
    ("user", "resolved"), [("app", "1000:1000"), ("1000", "1000:1000"), ("app:root", "1000:0")]
)
def test_named_users_resolve_through_the_images_passwd(docker_client, runner, user, resolved):
    assert runner.present_image(shell_image(docker_client, "true", user=user)).user == resolved


def test_a_user_missing_from_passwd_is_explained(docker_client, runner):
    with pytest.raises(SubmissionFailure, match="not in its /etc/passwd"):
        runner.present_image(shell_image(docker_client, "true", user="ghost"))


def test_a_stale_container_of_the_same_name_is_replaced(docker_client, runner, tmp_path):
    name = f"podium-sub-stale{uuid.uuid4().hex[:8]}-1"
    stale = docker_client.containers.run(
        shell_image(docker_client, "sleep 300"), name=name, detach=True, network_mode="none"
    )
    image = runner.present_image(shell_image(docker_client, "echo fresh"))
    result = runner.run(_spec(image, tmp_path, name))
    assert result.log == "fresh\n"
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(stale.id)


def test_an_unreachable_engine_is_an_infrastructure_error(tmp_path):
    runner = DockerRunner(
        client_factory=lambda: docker.DockerClient(base_url=f"unix://{tmp_path}/no.sock")
    )
    with pytest.raises(InfrastructureError, match="Docker engine error"):
        runner.present_image("anything")
    with pytest.raises(InfrastructureError, match="missing"):
        runner.load_image(tmp_path / "absent.tar", expected_id="sha256:00")


def test_an_image_without_a_command_is_the_teams_fault(docker_client, runner):
    with pytest.raises(SubmissionFailure, match="neither ENTRYPOINT nor CMD") as caught:
        runner.present_image(build_image(docker_client, files={"/x": "no command"}))
    assert caught.value.kind == "image_invalid"
