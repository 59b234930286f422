"""The phase's run contract: validation by key, defaults, storage, the API and the root policy."""

from __future__ import annotations

import doctest
import textwrap

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.challenges import contract
from backend.challenges.contract import ContainerSpec, RunContract, contract_of, root_policy
from backend.challenges.models import Phase
from backend.challenges.spec import parse_challenge_yaml
from backend.errors import DomainError
from tests.backend.conftest import World
from tests.backend.tarballs import image_config, image_tarball

TRIALS = """
    container:
      args: ["/input/cases.csv", "/input", "/output"]
      cases_csv: /input/cases.csv
      input_name: "{case}_0000{ext}"
      shm_size_mb: 2048
      root_images: run_unprivileged
"""

YAML = """
slug: trials
title: TriALS
tasks:
  - slug: task1
    title: Task 1
    input_phase: venous
    paradigms: [lesion]
    phases:
      - slug: validation
        title: Validation
        kind: validation
        submission_limit: 3
        memory_limit_mb: 16384
        opens_at: "2026-01-01T00:00:00Z"
        closes_at: "2027-01-01T00:00:00Z"
"""


def _yaml(block: str = "") -> str:
    """The challenge with ``block`` added to its phase."""
    return YAML + textwrap.indent(textwrap.dedent(block).strip("\n"), " " * 8) + "\n"


def test_the_docstring_examples_hold():
    failures, tried = doctest.testmod(contract)
    assert tried > 0
    assert failures == 0


def test_the_trials_block_parses_into_the_contract_it_names():
    spec = parse_challenge_yaml(_yaml(TRIALS))
    phase = spec.tasks[0].phases[0]
    assert phase.container is not None
    run = contract_of(contract.stored_block(phase.container), memory_limit_mb=16384)
    assert run == RunContract(
        args=("/input/cases.csv", "/input", "/output"),
        cases_csv="/input/cases.csv",
        input_name="{case}_0000{ext}",
        shm_size_mb=2048,
        root_images="run_unprivileged",
    )
    assert run.input_names("venous_0", [".nii.gz"]) == ["venous_0_0000.nii.gz"]


def test_without_a_block_the_original_contract_holds():
    assert parse_challenge_yaml(_yaml()).tasks[0].phases[0].container is None
    run = contract_of(None, memory_limit_mb=16384)
    assert run == RunContract(shm_size_mb=2048)
    assert (run.args, run.cases_csv, run.root_images) == ((), None, "refuse")
    assert run.input_names("c1", [".nii.gz"]) == ["c1.nii.gz"]
    assert run.input_names("c1", [".nii.gz", ".nii.gz"]) == ["c1_0000.nii.gz", "c1_0001.nii.gz"]
    # /dev/shm is never smaller than the 64 MiB every phase had before the contract.
    assert contract_of(None, memory_limit_mb=64).shm_size_mb == 64
    assert contract_of({}, memory_limit_mb=3000).shm_size_mb == 1500


@pytest.mark.parametrize(
    ("block", "key", "words"),
    [
        ("args: /input", "container.args", "valid list"),
        ("args: [1, 2]", "container.args.0", "valid string"),
        ("cases_csv: /data/cases.csv", "container.cases_csv", "under /input ending in .csv"),
        ("cases_csv: /input/../etc/x.csv", "container.cases_csv", "under /input"),
        ("cases_csv: /input/cases.txt", "container.cases_csv", "ending in .csv"),
        ("cases_csv: /input", "container.cases_csv", "under /input"),
        ("input_name: '{case}_0000.nii.gz'", "container.input_name", "lacks {ext}"),
        ("input_name: 'img{ext}'", "container.input_name", "lacks {case}"),
        ("input_name: 'img.nii.gz'", "container.input_name", "lacks {case} and {ext}"),
        ("input_name: 'x/{case}{ext}'", "container.input_name", "no '/'"),
        ("input_name: '{case}{ext}{foo}'", "container.input_name", "only {case}, {ext}"),
        ("input_name: '{case}_{index:03d}{ext}'", "container.input_name", "only {case}, {ext}"),
        ("input_name: '.{case}{ext}'", "container.input_name", "must start with"),
        ("input_name: '{case'", "container.input_name", "not a valid name pattern"),
        ("shm_size_mb: 0", "container.shm_size_mb", "greater than 0"),
        ("shm_size_mb: 16384", "container", "must be smaller than the phase's memory_limit_mb"),
        ("root_images: allow", "container.root_images", "'refuse' or 'run_unprivileged'"),
        ("privileged: true", "container.privileged", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_block_is_refused_naming_the_key(block, key, words):
    with pytest.raises(DomainError) as caught:
        parse_challenge_yaml(_yaml(f"container:\n  {block}"))
    assert caught.value.status == 422
    assert f"{key}" in caught.value.message
    assert words in caught.value.message


def test_an_input_pattern_without_index_cannot_name_several_inputs():
    run = contract_of({"input_name": "{case}_0000{ext}"}, memory_limit_mb=1024)
    with pytest.raises(ValueError, match=r"add \{index\}"):
        run.input_names("c1", [".nii.gz", ".nii.gz"])


def test_root_policy_reads_the_stored_block():
    phase = Phase(container=None, memory_limit_mb=1024)
    assert root_policy(phase) == "refuse"
    phase.container = ContainerSpec(root_images="run_unprivileged").model_dump(exclude_unset=True)
    assert root_policy(phase) == "run_unprivileged"


@pytest.mark.postgres
def test_the_api_stores_and_shows_the_effective_contract(client: TestClient, world: World):
    headers = {**world.headers("organiser"), "Content-Type": "application/yaml"}
    applied = client.put("/api/v1/challenges", content=_yaml(TRIALS), headers=headers)
    assert applied.status_code == 200, applied.text
    (phase,) = applied.json()["tasks"][0]["phases"]
    assert phase["container"] == {
        "args": ["/input/cases.csv", "/input", "/output"],
        "cases_csv": "/input/cases.csv",
        "input_name": "{case}_0000{ext}",
        "shm_size_mb": 2048,
        "root_images": "run_unprivileged",
    }
    # Removing the block brings the original contract back.
    plain = client.put("/api/v1/challenges", content=_yaml(), headers=headers).json()
    assert plain["tasks"][0]["phases"][0]["container"] == {
        "args": [],
        "cases_csv": None,
        "input_name": None,
        "shm_size_mb": 2048,
        "root_images": "refuse",
    }
    bad = client.put(
        "/api/v1/challenges", content=_yaml("container:\n  shm_size_mb: 20000"), headers=headers
    )
    assert bad.status_code == 422
    assert "container.shm_size_mb (20000 MiB) must be smaller" in bad.json()["message"]


@pytest.mark.postgres
def test_root_images_are_accepted_only_where_the_phase_runs_them_unprivileged(
    client: TestClient, world: World, db_session: Session
):
    root_image = image_tarball(config=image_config(user=""))
    url = f"/api/v1/phases/{world.phase.id}/submissions"
    refused = client.post(url, content=root_image, headers=world.headers("team_a"))
    assert refused.status_code == 422
    assert "runs as root" in refused.json()["message"]
    world.phase.container = {"root_images": "run_unprivileged"}
    db_session.flush()
    accepted = client.post(url, content=root_image, headers=world.headers("team_a"))
    assert accepted.status_code == 201, accepted.text
