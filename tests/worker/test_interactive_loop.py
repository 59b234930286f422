"""The closed loop's driver against the reference client, through host folders (no engine).

The client (``examples/interactive_client.py``, imported as teams copy it) runs
in a thread of this process and answers through a folder standing for
``/output``; the driver is the worker's own. The same protocol through the
real engine and its sandbox: ``tests/worker/test_interactive_docker.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from scoring.interactive.score import score_interactive_case
from scoring.interactive.simulate import static_clicks
from tests.support.interactive import (
    FolderChannel,
    clicked_lesions,
    interaction,
    label_case,
    load_client,
    three_lesions,
    write_mask,
)
from worker.interactive import protocol
from worker.interactive.loop import EXIT_GRACE_S, ClosedLoop
from worker.interactive.protocol import Inbox

client = load_client()


class Run:
    """Cases, their labels and inputs, an inbox, an output folder: one loop run."""

    def __init__(self, tmp_path: Path, cases: int = 2, *, clicks: int = 3, step_s: int = 5):
        self.tmp = tmp_path
        self.keys = [f"c{i}" for i in range(cases)]
        self.masks = {k: three_lesions(i % 2) for i, k in enumerate(self.keys)}
        self.labels = {
            k: label_case(write_mask(tmp_path / "labels" / f"{k}.nii.gz", m), k)
            for k, m in self.masks.items()
        }
        self.input_dir = tmp_path / "input"
        for k, m in self.masks.items():
            write_mask(self.input_dir / f"{k}_0000.nii.gz", m)
        (self.input_dir / "cases.csv").write_text("".join(f"{k}\n" for k in self.keys))
        self.output_dir = tmp_path / "output"
        self.output_dir.mkdir()
        self.interaction = interaction(clicks=clicks, step_s=step_s)
        self.inbox = Inbox(tmp_path / "clicks")
        self.loop = ClosedLoop(
            cases=self.keys,
            labels=self.labels,
            interaction=self.interaction,
            inbox=self.inbox,
            predictions_dir=tmp_path / "predictions",
            max_file_bytes=100_000,
        )
        self.requests: dict[str, list[dict]] = {k: [] for k in self.keys}

    def serve(self, predict) -> float | None:
        """Run the client in a thread with ``predict`` and the driver here; the driver's answer."""

        def recording(case, image, clicks, output):
            self.requests[case].append(clicks)
            predict(case, image, clicks, output)

        def container() -> None:
            with contextlib.suppress(SystemExit):  # a process that ends mid-run
                client.serve(
                    recording,
                    cases_csv=str(self.input_dir / "cases.csv"),
                    input_dir=str(self.input_dir),
                    output_dir=str(self.output_dir),
                    inbox=str(self.inbox.folder),
                )

        thread = threading.Thread(target=container, daemon=True)
        thread.start()
        channel = FolderChannel(
            self.output_dir, running=thread.is_alive, deadline=time.monotonic() + 60
        )
        done = self.loop(channel)
        thread.join(timeout=30)
        return done

    def responder(self, case, image, clicks, output):
        """Segments exactly the lesions clicked so far (static mode's simulated user)."""
        write_mask(Path(output), clicked_lesions(self.masks[case], clicks))

    def score(self, case: str):
        return score_interactive_case(self.labels[case], self.loop.results[case].predictions())


def test_the_client_and_the_worker_spell_the_same_files():
    inbox, out = "/clicks", "/output"
    assert client.request_path(inbox, "c", 3) == f"{inbox}/c/{protocol.request_name('c', 3)}"
    assert client.end_path(inbox, "c") == f"{inbox}/c/{protocol.end_name('c')}"
    assert client.done_path(out, "c", 3) == protocol.output_path("c", protocol.done_name("c", 3))
    assert client.prediction_path(out, "c", 3) == protocol.output_path("c", "c_3.nii.gz")
    assert str(protocol.INBOX_MOUNT) == client.INBOX


def test_each_click_comes_from_the_errors_of_the_prediction_before_it(tmp_path):
    run = Run(tmp_path)
    seen_early: list[str] = []

    def predict(case, image, clicks, output):
        k = len(clicks["background"])
        if os.path.exists(client.request_path(str(run.inbox.folder), case, k + 1)):
            seen_early.append(f"{case}/{k + 1}")  # a click that was not issued yet
        run.responder(case, image, clicks, output)

    assert run.serve(predict) == EXIT_GRACE_S
    assert seen_early == []
    for case in run.keys:
        # Against the responder that segments the clicked lesions, the closed loop's clicks
        # are exactly the static file's: the same rules, the same simulated user.
        expected = static_clicks(run.labels[case], run.interaction.settings)
        assert run.requests[case] == [expected.first(k).to_json() for k in range(4)]
        result = run.score(case)
        assert result.status == "ok"
        dice = result.curve("dice")
        assert dice[0] == 0.0
        assert dice == sorted(dice)
        assert dice[-1] == 1.0
        ended = json.loads((run.inbox.folder / case / protocol.end_name(case)).read_text())
        assert ended == {"reason": "complete", "predictions": 4}
        assert [t.clicks for t in run.loop.results[case].timings] == [0, 1, 2, 3]


def test_a_prediction_rewritten_after_its_signal_counts_as_it_was(tmp_path):
    run = Run(tmp_path, cases=1)

    def predict(case, image, clicks, output):
        k = len(clicks["background"])
        write_mask(Path(output), run.masks[case])  # perfect from the start
        if k == 1:  # ... then step 0's file is emptied, too late to matter
            write_mask(run.output_dir / case / f"{case}_0.nii.gz", np.zeros_like(run.masks[case]))

    assert run.serve(predict) == EXIT_GRACE_S
    assert run.score("c0").curve("dice") == [1.0, 1.0, 1.0, 1.0]


def test_an_unanswered_step_ends_the_case_with_its_last_prediction_carried_forward(tmp_path):
    run = Run(tmp_path, cases=2, step_s=1)

    def predict(case, image, clicks, output):
        if case == "c1" and len(clicks["background"]) == 2:
            time.sleep(1.6)  # past the step limit: the worker has moved on
        run.responder(case, image, clicks, output)

    assert run.serve(predict) == EXIT_GRACE_S
    state = run.loop.results["c1"]
    assert state.paths[2] == state.paths[3] == state.paths[1]
    assert state.paths[1] is not None
    assert any("no answer within the step limit of 1 s at request 2" in w for w in state.warnings)
    ended = json.loads((run.inbox.folder / "c1" / protocol.end_name("c1")).read_text())
    assert ended == {"reason": "step_time_limit", "predictions": 2}
    result = run.score("c1")
    assert result.curve("dice")[2:] == [result.curve("dice")[1]] * 2
    assert run.score("c0").curve("dice")[-1] == 1.0


def test_no_answer_to_the_first_request_stops_the_run(tmp_path):
    run = Run(tmp_path, cases=3, step_s=1)
    started = time.monotonic()
    channel = FolderChannel(run.output_dir, running=lambda: True, deadline=started + 60)
    assert run.loop(channel) == 0.0  # the worker is done with it: stop it now
    assert time.monotonic() - started < 5
    first = run.loop.results["c0"]
    assert first.paths == [None] * 4
    assert "at request 0; the case has no prediction" in first.warnings[0]
    assert "never started" in run.loop.results["c2"].warnings[0]
    assert not (run.inbox.folder / "c1").exists()


def test_a_signal_without_a_file_a_link_and_an_oversized_file_are_named(tmp_path):
    run = Run(tmp_path, cases=3)

    def predict(case, image, clicks, output):
        if len(clicks["background"]) == 0:
            if case == "c1":
                os.symlink("/etc/passwd", output)
                return
            if case == "c2":
                Path(output).write_bytes(b"\0" * 100_001)
                return
            if case == "c0":
                return  # the signal follows, the file never comes
        run.responder(case, image, clicks, output)

    assert run.serve(predict) == EXIT_GRACE_S
    c0, c1, c2 = (run.loop.results[k] for k in run.keys)
    assert c0.paths[0] is None
    assert any("c0_0.done was written but no c0_0.nii.gz" in w for w in c0.warnings)
    assert "symbolic link" in c1.invalid[0]
    assert "100001 bytes, more than the 100000 allowed" in c2.invalid[0]
    for case in run.keys:  # each answered later requests, clicked from an empty prediction
        assert len(run.requests[case]) == 4
        result = run.score(case)
        assert result.steps[0].status in {"missing", "invalid"}
        assert result.steps[3].status == "ok"


def test_a_container_that_exits_leaves_its_last_prediction_and_no_more_cases(tmp_path):
    run = Run(tmp_path, cases=2)

    def predict(case, image, clicks, output):
        if len(clicks["background"]) == 2:
            raise SystemExit  # the process ends in the middle of the first case
        run.responder(case, image, clicks, output)

    assert run.serve(predict) is None
    c0 = run.loop.results["c0"]
    assert c0.paths[2] == c0.paths[3] == c0.paths[1]
    assert any("the container exited at request 2" in w for w in c0.warnings)
    assert run.loop.results["c1"].paths == [None] * 4


@pytest.mark.parametrize("argv", [[], ["a", "b"], ["a", "b", "c", "d", "e"]])
def test_the_client_script_says_how_to_call_it(argv, capsys):
    assert client.main(argv) == 2
    assert (
        "usage: interactive_client.py CSV INPUT_DIR OUTPUT_DIR [INBOX]" in capsys.readouterr().err
    )
