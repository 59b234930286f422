"""The example container's interactive mode, run by the worker in the sandbox, both protocols.

The same image serves every phase: started with the TriALS arguments ``CSV
INPUT_DIR OUTPUT_DIR`` it reads ``<case>_clicks.json`` beside each input
(static) or answers the closed loop's requests in ``/clicks``. A build that
finds nothing on its own (``MIN_LESION_VOXELS`` above any lesion) shows what
the clicks alone do: its 0-click prediction is empty and region growing from
the lesion clicks finds the lesions. Images are built once per source and
knobs (tagged by their hash) and kept, like ``tests/support/images.py``'s.
"""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backend.challenges.contract import RunContract
from backend.interactive.spec import Interaction
from backend.storage import FilesystemStorage
from demo.data import write_volume
from demo.phantom import DEFAULT_SPACING, synthesize_phantom
from scoring.interactive.settings import ClickSettings
from scoring.labelcase import LabelCase
from tests.support.sandbox import TEST_LIMITS
from worker.cases import CaseInput, LabelSource
from worker.interactive.stages import run_interactive, score_interactive
from worker.runner.docker import DockerRunner

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "examples" / "threshold-model"
#: The TriALS 2025 run contract (docs/participants.md, "Interactive phases").
CONTRACT = RunContract(
    args=("/input/cases.csv", "/input", "/output"),
    cases_csv="/input/cases.csv",
    input_name="{case}_0000{ext}",
)
LIMITS = dataclasses.replace(TEST_LIMITS, wall_seconds=60, memory_bytes=512 * 1024 * 1024)
#: Blind: no candidate is ever large enough, so only clicks find lesions.
BLIND = ("MIN_LESION_VOXELS=100000000",)
CLICKS = 4


def example_image(docker_client: Any, defines: tuple[str, ...] = ()) -> str:
    """The example image built with ``defines``: once per source and knobs, then reused."""
    digest = hashlib.sha256(repr(defines).encode())
    for path in sorted(SOURCE.iterdir()):
        if path.suffix in {".c", ".h", ".py"}:
            digest.update(path.name.encode() + path.read_bytes())
    tag = f"podium-test/threshold-model:{digest.hexdigest()[:16]}"
    if not docker_client.images.list(name=tag):
        command = [sys.executable, str(SOURCE / "build.py"), "--tag", tag]
        command += [arg for d in defines for arg in ("-D", d)]
        built = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert built.returncode == 0, built.stderr
    return tag


class Cases:
    """Two synthetic venous cases with three lesions each, stored as the worker reads them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.storage = FilesystemStorage(root / "data")
        self.cases: list[CaseInput] = []
        self.labels: dict[str, LabelCase] = {}
        for i, seed in enumerate((11, 23)):
            key = f"venous_{i}"
            phantom = synthesize_phantom(seed=seed, n_lesions=3)
            write_volume(
                root / "data" / "inputs" / f"{key}.nii.gz", phantom.venous, spacing=DEFAULT_SPACING
            )
            label_path = root / "data" / "labels" / f"{key}.nii.gz"
            write_volume(label_path, phantom.venous_label, spacing=DEFAULT_SPACING)
            self.cases.append(
                CaseInput(case_pk=i + 1, case_key=key, input_keys=(f"inputs/{key}.nii.gz",))
            )
            self.labels[key] = LabelCase.read(label_path, case_id=key, mode="paper")

    def run(self, docker_client: Any, *, mode: str, defines: tuple[str, ...] = ()):
        runner = DockerRunner(client_factory=lambda: docker_client)
        interaction = Interaction(
            mode=mode,  # type: ignore[arg-type]
            clicks=CLICKS,
            paradigm="venous",
            settings=ClickSettings(count=CLICKS, seed=0),
            step_time_limit_s=10,
            startup_time_limit_s=10,
        )
        run = run_interactive(
            runner=runner,
            image=runner.present_image(example_image(docker_client, defines)),
            storage=self.storage,
            cases=self.cases,
            labels=self.labels,
            interaction=interaction,
            workdir=self.root / f"work-{mode}",
            name=f"podium-test-example-{mode.replace('_', '-')}-{self.root.name[-12:]}",
            limits=LIMITS,
            contract=CONTRACT,
        )
        assert run.result.failure(LIMITS) is None, run.result.log
        assert run.problems == [], run.problems
        source = LabelSource(
            paradigm="venous", label_set_id=1, version=1, sha256="v1", storage_path="labels"
        )
        scores = score_interactive(
            storage=self.storage,
            cases=self.cases,
            labels={"venous": source},
            predictions=run.predictions,
            clicks=CLICKS,
            workdir=self.root / f"score-{mode}",
        )
        curves = {key: result.curve("dice") for (key, _), result in scores.items()}
        assert all(r.status == "ok" for r in scores.values()), curves
        return run, curves


@pytest.mark.parametrize("mode", ["static", "closed_loop"])
def test_clicks_alone_find_the_lesions(tmp_path: Path, docker_client: Any, mode: str) -> None:
    cases = Cases(tmp_path)
    run, curves = cases.run(docker_client, mode=mode, defines=BLIND)
    for key, curve in curves.items():
        assert curve[0] == 0.0, (key, curve)  # nothing without a click
        assert curve[-1] > 0.8, (key, curve)  # grown from the lesion clicks
        assert curve[-1] >= curve[1] - 0.02, (key, curve)
    if mode == "static":
        assert (
            f"venous_1: {CLICKS + 1} predictions for 0..{CLICKS} clicks (static)" in run.result.log
        )
    else:
        assert run.loop is not None
        for key in curves:
            assert len(run.loop.results[key].timings) == CLICKS + 1
        assert f"venous_1: case ended after {CLICKS + 1} requests" in run.result.log
        assert not run.result.stopped  # it left by itself once the last case ended


def test_the_closed_loop_corrects_the_automatic_segmentation(
    tmp_path: Path, docker_client: Any
) -> None:
    cases = Cases(tmp_path)
    _, static = cases.run(docker_client, mode="static")
    _, loop = cases.run(docker_client, mode="closed_loop")
    for key in loop:
        # Both start from the same automatic segmentation; the loop's clicks, aimed at its
        # errors, leave it no worse.
        assert static[key][0] == loop[key][0] > 0.5
        assert loop[key][-1] >= loop[key][0] - 1e-9, loop[key]
    assert np.mean([c[-1] for c in loop.values()]) > np.mean([c[0] for c in loop.values()])
