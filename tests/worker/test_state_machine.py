"""The evaluation's state machine with a fake container runner: no Docker, real everything else.

Real PostgreSQL (a committed database per test), real storage, staging,
collection and scoring; only the container run is scripted
(:mod:`tests.support.fake_runner`). What the Docker runner does inside a run
is tested in ``test_runner_*.py``; end-to-end runs in ``test_worker_evaluation.py``.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.audit.models import AuditEvent
from backend.enums import PhaseKind, Role, SubmissionStatus
from backend.jobs import RecordingJobQueue, bind_queue
from backend.submissions import repository as subs
from backend.submissions.actions import rescore
from backend.submissions.models import CaseScore, Evaluation, Submission
from tests.backend.factories import make_user
from tests.support.fake_runner import (
    FakeRunner,
    after,
    copy_inputs,
    engine_fault,
    exits,
    out_of_memory,
    times_out,
    write_empty_masks,
    write_garbage,
    write_nothing,
)
from tests.support.world import World, make_world
from worker.context import WorkerContext
from worker.evaluation import evaluate
from worker.faultpoints import PAUSE_AT, PAUSE_DIR
from worker.runner.base import SubmissionFailure

pytestmark = pytest.mark.postgres


@pytest.fixture
def context(fake_context: WorkerContext) -> WorkerContext:
    """The worker context with a :class:`FakeRunner` (``tests/worker/conftest.py``)."""
    return fake_context


def _runner(context: WorkerContext) -> FakeRunner:
    assert isinstance(context.runner, FakeRunner)
    return context.runner


def _setup(context: WorkerContext, **world_options) -> tuple[World, int]:
    with context.session_factory.begin() as session:
        world = make_world(session, data_root=context.settings.data_root, **world_options)
        submission_id = world.add_submission(session)
    return world, submission_id


def _row(context: WorkerContext, submission_id: int) -> Submission:
    with context.session_factory() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        return submission


def _scores(context: WorkerContext, submission_id: int) -> list[CaseScore]:
    with context.session_factory() as session:
        evaluations = session.scalars(
            select(Evaluation).where(Evaluation.submission_id == submission_id)
        ).all()
        return [s for e in evaluations for s in subs.case_scores(session, e.id)]


def _ledger(context: WorkerContext, world: World) -> list[int]:
    with context.session_factory() as session:
        entries = subs.quota_ledger(session, team_id=world.team_id, phase_id=world.phase_id)
        return [e.change for e in entries]


def _audit(context: WorkerContext, submission_id: int) -> list[str]:
    with context.session_factory() as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.target_type == "submission")
            .where(AuditEvent.target_id == str(submission_id))
            .order_by(AuditEvent.id)
        ).all()
        return [e.action for e in events]


def _go_silent(context: WorkerContext, submission_id: int) -> None:
    """Make the running attempt's heartbeat look three periods old."""
    with context.session_factory.begin() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        submission.updated_at = datetime.now(UTC) - timedelta(minutes=5)


def test_a_submission_run_twice_is_evaluated_once(context):
    world, sid = _setup(context)
    _runner(context).plays = [copy_inputs]
    assert evaluate(sid, context=context).status == "succeeded"
    assert evaluate(sid, context=context).status == "succeeded"  # delivered again
    assert len(_runner(context).runs) == 1
    assert _row(context, sid).attempt == 1
    scores = _scores(context, sid)
    assert len(scores) == 2 * 2  # cases × paradigms, once
    assert {s.result["dice"] for s in scores if s.paradigm == "visible"} == {1.0}
    assert _ledger(context, world) == [-1]
    assert len(context.storage.list(f"predictions/{sid}")) == 2


@pytest.mark.parametrize("newer", ["succeeds", "fails"])
def test_a_superseded_attempt_drops_its_results(context, newer):
    """Attempt 1 goes silent mid-run; attempt 2 takes over and finishes; attempt 1 ends late.

    Whatever attempt 1 then brings back is dropped: the row, the scores and the
    stored predictions are attempt 2's alone.
    """
    world, sid = _setup(context)
    runner = _runner(context)
    outcomes = []

    def taken_over(spec):
        _go_silent(context, sid)
        outcomes.append(evaluate(sid, context=context))  # the redelivery, as attempt 2

    stale = write_empty_masks if newer == "succeeds" else copy_inputs
    runner.plays = [
        after(taken_over, stale),
        copy_inputs if newer == "succeeds" else exits(3, "crash"),
    ]
    late = evaluate(sid, context=context)
    expected = "succeeded" if newer == "succeeds" else "failed"
    assert [o.status for o in outcomes] == [expected]
    assert late.status == expected  # what the row says; attempt 1 changed nothing
    assert [spec.name.rsplit("-", 1)[1] for spec in runner.runs] == ["1", "2"]
    assert f"{context.settings.container_prefix}-sub-{sid}-1" in runner.runs[1].replaces
    row = _row(context, sid)
    assert (row.status.value, row.attempt) == (expected, 2)
    assert "submission.recovered" in _audit(context, sid)
    scores = _scores(context, sid)
    stored = context.storage.list(f"predictions/{sid}")
    if newer == "succeeds":
        # Attempt 2's perfect predictions, not attempt 1's empty ones.
        assert {s.result["dice"] for s in scores if s.paradigm == "visible"} == {1.0}
        assert len(stored) == 2
    else:
        assert scores == []  # attempt 1's perfect predictions were never kept
        assert stored == []
        assert row.failure_class == "nonzero_exit"
    assert _ledger(context, world) == [-1]


def _blocked(release: threading.Event, play):
    """A run that does not end before ``release`` is set."""

    def run(spec):
        assert release.wait(30), "never released"
        return play(spec)

    return run


def _wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + 30
    while not predicate():
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.02)


@pytest.mark.parametrize("stage", ["running", "persist"])
def test_a_stale_attempt_coming_back_while_the_newer_one_is_at_the_same_step_is_refused(
    context, tmp_path, monkeypatch, stage
):
    """The attempt number, not the state, fences: both attempts are at the same step.

    Attempt 1 stops (inside its container, or with its scores computed) and goes
    silent; attempt 2 takes over and reaches the same step; then attempt 1 comes
    back and tries to move on. It is refused, and attempt 2's results stand.
    """
    world, sid = _setup(context)
    first_back, second_back = threading.Event(), threading.Event()
    if stage == "persist":
        monkeypatch.setenv(PAUSE_DIR, str(tmp_path))
        monkeypatch.setenv(PAUSE_AT, "persist")
        plays = [write_empty_masks, copy_inputs]
    else:
        plays = [_blocked(first_back, write_empty_masks), _blocked(second_back, copy_inputs)]
    _runner(context).plays = plays
    step = SubmissionStatus.SCORING if stage == "persist" else SubmissionStatus.RUNNING

    def at_step(attempt: int) -> bool:
        if stage == "persist":
            return (tmp_path / f"persist-{sid}-{attempt}").exists()
        row = _row(context, sid)
        return (row.attempt, row.status) == (attempt, step) and len(
            _runner(context).runs
        ) == attempt

    outcomes: dict[int, str] = {}

    def attempt(number: int) -> None:
        outcomes[number] = evaluate(sid, context=context).status

    one = threading.Thread(target=attempt, args=(1,))
    one.start()
    _wait_for(lambda: at_step(1), "attempt 1 reaching the step")
    _go_silent(context, sid)
    two = threading.Thread(target=attempt, args=(2,))
    two.start()
    _wait_for(lambda: at_step(2), "attempt 2 reaching the step")
    # Attempt 1 comes back first, while the row is attempt 2's at the same step.
    if stage == "persist":
        (tmp_path / f"persist-{sid}-1").unlink()
    else:
        first_back.set()
    one.join(30)
    assert _scores(context, sid) == []
    assert (_row(context, sid).attempt, _row(context, sid).status) == (2, step)
    if stage == "persist":
        (tmp_path / f"persist-{sid}-2").unlink()
    else:
        second_back.set()
    two.join(30)
    # Attempt 1 reports the row as it found it: attempt 2's, still at that step.
    assert outcomes == {1: step.value, 2: "succeeded"}
    row = _row(context, sid)
    assert (row.status, row.attempt) == (SubmissionStatus.SUCCEEDED, 2)
    scores = _scores(context, sid)
    assert len(scores) == 4
    assert {s.result["dice"] for s in scores if s.paradigm == "visible"} == {1.0}
    assert _ledger(context, world) == [-1]


def test_a_silent_run_is_taken_over_and_a_live_one_left_alone(context):
    world, sid = _setup(context)
    with context.session_factory.begin() as session:
        submission = session.get(Submission, sid)
        submission.status = SubmissionStatus.SCORING  # as a worker left it when it died
        submission.attempt = 1
    busy = evaluate(sid, context=context)  # its heartbeat is fresh: a live worker has it
    assert (busy.status, busy.retry_in) == ("busy", context.settings.takeover_after_s)
    assert _runner(context).runs == []
    _go_silent(context, sid)
    _runner(context).plays = [copy_inputs]
    assert evaluate(sid, context=context).status == "succeeded"
    assert _row(context, sid).attempt == 2
    (spec,) = _runner(context).runs
    prefix = context.settings.container_prefix
    assert set(spec.replaces) == {f"{prefix}-sub-{sid}-1", f"{prefix}-sub-{sid}-1-preflight"}
    assert _audit(context, sid) == ["submission.recovered"]
    assert _ledger(context, world) == [-1]


def test_a_worker_lost_on_the_last_attempt_ends_in_error_with_a_refund(context):
    world, sid = _setup(context)
    with context.session_factory.begin() as session:
        submission = session.get(Submission, sid)
        submission.status = SubmissionStatus.RUNNING
        submission.attempt = context.settings.max_attempts
    _go_silent(context, sid)
    assert evaluate(sid, context=context).status == "error"
    row = _row(context, sid)
    assert (row.failure_class, row.slot) == ("worker_lost", None)
    assert _runner(context).runs == []
    assert _ledger(context, world) == [-1, 1]


#: (plays, failure class, final status, slot refunded) per failure, validation phase.
TEAM_FAULTS = {
    "non-zero exit": ([exits(3, "no weights")], "nonzero_exit", "failed", False),
    "timeout": ([times_out], "timeout", "failed", False),
    "out of memory": ([out_of_memory], "out_of_memory", "failed", False),
    "no outputs": ([write_nothing], "no_outputs", "failed", False),
    "unreadable outputs": ([write_garbage], "invalid_outputs", "failed", False),
}


@pytest.mark.parametrize("name", list(TEAM_FAULTS))
def test_each_team_failure_keeps_the_slot(context, name):
    plays, kind, status, refunded = TEAM_FAULTS[name]
    world, sid = _setup(context)
    _runner(context).plays = list(plays)
    assert evaluate(sid, context=context).status == status
    row = _row(context, sid)
    assert row.failure_class == kind
    assert row.message
    assert row.log_tail  # the team sees what its container printed
    assert (row.slot is None) is refunded
    assert _ledger(context, world) == ([-1, 1] if refunded else [-1])
    assert _scores(context, sid) == []
    # Nothing of a failed run is kept: re-scoring only reads succeeded submissions.
    assert context.storage.list(f"predictions/{sid}") == []


def test_an_image_that_cannot_run_is_the_teams_failure(context):
    world, sid = _setup(context)
    _runner(context).load_failure = SubmissionFailure(
        "image_user", "The image runs as root; set USER 1000:1000."
    )
    assert evaluate(sid, context=context).status == "failed"
    row = _row(context, sid)
    assert (row.failure_class, row.message) == (
        "image_user",
        "The image runs as root; set USER 1000:1000.",
    )
    assert _ledger(context, world) == [-1]


def test_an_engine_fault_is_retried_then_ends_in_error_with_a_refund(context):
    world, sid = _setup(context)
    _runner(context).plays = [engine_fault(), engine_fault("disk full")]
    first = evaluate(sid, context=context)
    assert (first.status, first.retry_in) == ("queued", 0.0)
    assert _row(context, sid).failure_class == "infrastructure"
    second = evaluate(sid, context=context)  # max_attempts=2
    assert (second.status, second.retry_in) == ("error", None)
    row = _row(context, sid)
    assert row.slot is None
    assert "disk full" in row.log_tail
    assert "not charged to you" in row.message
    assert _audit(context, sid) == ["submission.retry", "submission.error"]
    assert _ledger(context, world) == [-1, 1]


@pytest.mark.parametrize(
    ("plays", "status", "kind", "refunded"),
    [
        ([exits(2, "crash on the sample")], "failed_preflight", "nonzero_exit", True),
        ([write_nothing], "failed_preflight", "no_outputs", True),
        ([write_garbage], "failed_preflight", "preflight_outputs", True),
        ([copy_inputs, exits(5, "crash on hidden")], "failed", "nonzero_exit", False),
        ([copy_inputs, copy_inputs], "succeeded", None, False),
    ],
    ids=["preflight crash", "preflight no output", "preflight unreadable", "hidden crash", "ok"],
)
def test_final_phases_refund_a_failed_preflight_and_charge_a_failed_hidden_run(
    context, plays, status, kind, refunded
):
    world, sid = _setup(context, kind=PhaseKind.FINAL)
    runner = _runner(context)
    runner.plays = list(plays)
    assert evaluate(sid, context=context).status == status
    assert runner.runs[0].name.endswith("-preflight")
    assert len(runner.runs) == len(plays)
    row = _row(context, sid)
    assert (row.failure_class or None) == kind  # a success clears it to ""
    assert (row.slot is None) is refunded
    assert _ledger(context, world) == ([-1, 1] if refunded else [-1])
    if status == "failed_preflight":
        assert row.message.startswith("Pre-flight failed")
        assert row.log_tail  # the sample run's log: the team's to read


def test_an_organiser_can_rerun_a_submission_that_used_up_its_attempts(context):
    """An errored submission (every attempt spent on our faults) queued again runs again."""
    world, sid = _setup(context)
    _runner(context).plays = [engine_fault(), engine_fault(), copy_inputs]
    assert evaluate(sid, context=context).status == "queued"
    assert evaluate(sid, context=context).status == "error"
    with context.session_factory.begin() as session:
        organiser = make_user(session, role=Role.ORGANISER)
        bind_queue(session, RecordingJobQueue())
        rescore(session, submission_id=sid, actor=organiser, queue="evaluation")
    assert evaluate(sid, context=context).status == "succeeded"
    row = _row(context, sid)
    assert row.attempt == context.settings.max_attempts + 1
    assert len(_scores(context, sid)) == 4
    assert _ledger(context, world) == [-1, 1]  # refunded at the error, not charged again
