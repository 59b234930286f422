"""Interactive runs against the real engine and sandbox: both modes, and hostile containers.

Busybox images play the container (their ``run.sh`` gets the TriALS arguments
``CSV INPUT_DIR OUTPUT_DIR``); each input is the case's ``visible`` label, so a
container that copies it predicts perfectly. Tiny volumes, one-second step
limits: every run here takes a few seconds.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from pathlib import Path

import numpy as np
import pytest

from backend.challenges.contract import RunContract
from backend.storage import FilesystemStorage
from scoring.interactive.simulate import static_clicks
from tests.support.images import shell_image
from tests.support.interactive import (
    LOOP,
    interaction,
    label_case,
    three_lesions,
    write_mask,
)
from tests.support.sandbox import TEST_LIMITS
from worker.cases import CaseInput, LabelSource
from worker.interactive.stages import run_interactive, score_interactive
from worker.runner.base import SubmissionFailure

pytestmark = [pytest.mark.docker]

CONTRACT = RunContract(
    args=("/input/cases.csv", "/input", "/output"),
    cases_csv="/input/cases.csv",
    input_name="{case}_0000{ext}",
)
LIMITS = dataclasses.replace(TEST_LIMITS, wall_seconds=40)
_names = itertools.count()


class Setup:
    """Cases in a storage folder, labelled ``visible``; the inputs are the labels."""

    def __init__(self, root: Path, keys: list[str]):
        self.storage = FilesystemStorage(root / "data")
        self.cases = []
        for i, key in enumerate(keys):
            mask = three_lesions(i % 2)
            write_mask(root / "data" / "inputs" / f"{key}.nii.gz", mask)
            write_mask(root / "data" / "labels" / f"{key}.nii.gz", mask)
            self.cases.append(
                CaseInput(case_pk=i + 1, case_key=key, input_keys=(f"inputs/{key}.nii.gz",))
            )
        self.labels = {k: label_case(root / "data" / "labels" / f"{k}.nii.gz", k) for k in keys}
        self.source = LabelSource(
            paradigm="visible", label_set_id=1, version=1, sha256="v1", storage_path="labels"
        )
        self.root = root

    def run(self, runner, docker_client, script: str, **options):
        image = runner.present_image(shell_image(docker_client, script))
        return run_interactive(
            runner=runner,
            image=image,
            storage=self.storage,
            cases=self.cases,
            labels=self.labels,
            workdir=self.root / f"work-{next(_names)}",
            name=f"podium-sub-itest{os.getpid()}x{next(_names)}-1",
            limits=LIMITS,
            contract=CONTRACT,
            **{"interaction": interaction(clicks=2, step_s=1, startup_s=10), **options},
        )

    def score(self, run):
        return score_interactive(
            storage=self.storage,
            cases=self.cases,
            labels={"visible": self.source},
            predictions=run.predictions,
            clicks=2,
            workdir=self.root / "score",
        )


def test_a_closed_loop_runs_through_the_sandbox(tmp_path, runner, docker_client):
    setup = Setup(tmp_path, ["c0", "c1"])
    run = setup.run(runner, docker_client, LOOP)
    assert run.result.exit_code == 0
    assert not run.result.stopped
    results = setup.score(run)
    for key in ("c0", "c1"):
        assert results[(key, "visible")].curve("dice") == [1.0, 1.0, 1.0]
    assert 'c1 ended: {"reason": "complete", "predictions": 3}' in run.result.log
    # The worker kept what it fetched; nothing was copied out at the end.
    assert sorted(p.name for p in (tmp_path.glob("work-*/predictions/*"))) == [
        f"{k}_{i}.nii.gz" for k in ("c0", "c1") for i in range(3)
    ]
    assert list(tmp_path.glob("work-*/output/*")) == []
    assert run.loop is not None
    assert len(run.loop.results["c0"].timings) == 3


HOSTILE = r"""
hostile() {  # case k: return 0 when handled here
  case "$1/$2" in
    c0/0)
      [ -e /clicks/c0/c0_1_clicks.json ] && echo "LEAK: a click before it was issued"
      ls /clicks/c0 | tr '\n' ' '; echo
      touch /clicks/c0/c0_1_clicks.json 2>&1 | head -1
      cp "$in/c0_0000.nii.gz" "$out/c0/c0_5.nii.gz"  # out of order, and a count never asked
      cp "$in/c0_0000.nii.gz" "$out/c0/c0_99.nii.gz"
      return 1 ;;
    c0/1)
      answer c0 1; : > "$out/c0/c0_0.nii.gz"; return 0 ;;  # step 0 rewritten too late
    c1/0) ln -s /etc/passwd "$out/c1/c1_0.nii.gz"; touch "$out/c1/c1_0.done"; return 0 ;;
    c2/0) head -c 300000 /dev/zero > "$out/c2/c2_0.nii.gz"; touch "$out/c2/c2_0.done"; return 0 ;;
    c3/0) touch "$out/c3/c3_0.done"; return 0 ;;  # the signal, no file
    c4/1) sleep 2; return 1 ;;  # past the step limit
  esac
  return 1
}
"""


def test_hostile_answers_are_contained_and_named(tmp_path, runner, docker_client):
    setup = Setup(tmp_path, ["c0", "c1", "c2", "c3", "c4"])
    script = LOOP.replace("hostile() { return 1; }", HOSTILE)
    run = setup.run(runner, docker_client, script, max_file_bytes=200_000)
    log = run.result.log
    assert "LEAK" not in log
    assert "c0_0_clicks.json \n" in log  # only request 0 exists at step 0
    assert "Read-only file system" in log
    results = setup.score(run)
    assert results[("c0", "visible")].curve("dice") == [1.0, 1.0, 1.0]
    # Only what was asked for is fetched: c0_5 and c0_99 stayed in the sandbox.
    fetched = sorted(p.name for p in tmp_path.glob("work-*/predictions/c0_*"))
    assert fetched == ["c0_0.nii.gz", "c0_1.nii.gz", "c0_2.nii.gz"]
    c1, c2, c3, c4 = (run.loop.results[k] for k in ("c1", "c2", "c3", "c4"))  # type: ignore[union-attr]
    assert "c1_0.nii.gz is a symbolic link" in c1.invalid[0]
    assert "300000 bytes, more than the 200000 allowed" in c2.invalid[0]
    assert c3.paths[0] is None
    assert any("c3_0.done was written but no c3_0.nii.gz" in w for w in c3.warnings)
    assert c4.paths[1] == c4.paths[2] == c4.paths[0]
    assert any("step limit of 1 s at request 1" in w for w in c4.warnings)
    for key in ("c1", "c2", "c3"):
        steps = results[(key, "visible")].steps
        assert steps[0].status in {"invalid", "missing"}
        assert steps[2].status == "ok"
    assert results[("c4", "visible")].curve("dice") == [1.0, 1.0, 1.0]
    problems = " ".join(run.problems)
    assert "no answer within the step limit" in problems


def test_a_container_that_never_answers_is_stopped_and_told_the_protocol(
    tmp_path, runner, docker_client
):
    setup = Setup(tmp_path, ["c0", "c1"])
    with pytest.raises(SubmissionFailure) as caught:
        setup.run(
            runner,
            docker_client,
            "echo waiting for nothing; sleep 60",
            interaction=interaction(clicks=2, step_s=1, startup_s=2),
        )
    failure = caught.value
    assert failure.kind == "no_outputs"
    assert "/output/<case>/<case>_<k>.done" in failure.message
    assert "no answer within the step limit of 3 s at request 0" in failure.message
    assert "waiting for nothing" in failure.log


def test_a_container_that_exits_early_keeps_what_it_answered(tmp_path, runner, docker_client):
    setup = Setup(tmp_path, ["c0", "c1"])
    script = LOOP.replace(
        "hostile() { return 1; }", 'hostile() { [ "$1/$2" = c0/2 ] && exit 0; return 1; }'
    )
    run = setup.run(runner, docker_client, script)
    c0, c1 = run.loop.results["c0"], run.loop.results["c1"]  # type: ignore[union-attr]
    assert c0.paths[2] == c0.paths[1]
    assert any("the container exited at request 2" in w for w in c0.warnings)
    assert c1.paths == [None, None, None]
    assert setup.score(run)[("c1", "visible")].status == "missing"


STATIC = r"""
in=$2; out=$3
while read c; do
  mkdir -p "$out/$c"
  for k in 2 1 0; do cp "$in/${c}_0000.nii.gz" "$out/$c/${c}_$k.nii.gz"; done  # any order
  cp "$in/${c}_clicks.json" "$out/$c/"
done < "$1"
cp "$in/c0_0000.nii.gz" "$out/c0/c0_03.nii.gz"; cp "$in/c0_0000.nii.gz" "$out/c0/c0_7.nii.gz"
mkdir -p "$out/c0/deeper"; touch "$out/c0/deeper/c0_1.nii.gz"
rm "$out/c1/c1_1.nii.gz"; ln -s /etc/passwd "$out/c1/c1_1.nii.gz"
rm "$out/c2/c2_1.nii.gz"; head -c 300000 /dev/zero > "$out/c2/c2_2.nii.gz"
echo stray > "$out/notes.txt"; ln -s /etc "$out/c9"
"""


def test_static_mode_stages_click_files_and_names_every_stray_output(
    tmp_path, runner, docker_client
):
    setup = Setup(tmp_path, ["c0", "c1", "c2"])
    run = setup.run(
        runner,
        docker_client,
        STATIC,
        interaction=interaction(clicks=2, mode="static"),
        max_file_bytes=200_000,
    )
    work = next(tmp_path.glob("work-*"))
    for key in ("c0", "c1"):  # what the container read is the simulated static file
        seen = json.loads((work / "output" / key / f"{key}_clicks.json").read_text())
        assert seen == static_clicks(setup.labels[key], interaction(clicks=2).settings).to_json()
    c0, c1, c2 = (run.predictions[k] for k in ("c0", "c1", "c2"))
    assert all(p is not None for p in c0.paths)
    assert c1.paths[1] is None  # a link is never copied out of the sandbox
    assert c2.paths[1] is None
    assert "300000 bytes, more than the 200000 allowed" in c2.invalid[2]
    problems = " ".join(run.problems)
    for words in (
        "c0_03.nii.gz (write click count 3 as c0_3)",
        "c0_7.nii.gz (this phase has 0…2 clicks)",
        "/output/c1/c1_1.nii.gz was ignored: it is a symbolic link",
        "/output/c0/deeper was ignored: it is a directory",
        "no prediction for 1 click count(s): 1",
        "/output/c9 was ignored: it is a symbolic link",
        "ignored in /output: notes.txt",
    ):
        assert words in problems
    results = setup.score(run)
    assert results[("c0", "visible")].curve("dice") == [1.0, 1.0, 1.0]
    assert [s.status for s in results[("c2", "visible")].steps] == ["ok", "missing", "invalid"]
    assert np.isclose(results[("c1", "visible")].auc["dice"], 1.0)
