"""The reaper without Docker: one query for the candidates, one short transaction per row.

Real PostgreSQL; no container runs (the fake runner has nothing to play). The
Docker test in ``test_rescore_reaper.py`` then evaluates a requeued run.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from backend.enums import PhaseKind, SubmissionStatus
from backend.submissions import repository as subs
from backend.submissions.models import Submission
from tests.support.world import make_world
from worker.reaper import reap_stuck

pytestmark = pytest.mark.postgres


def _set(context, sid, **values):
    with context.session_factory.begin() as session:
        submission = session.get(Submission, sid)
        for name, value in values.items():
            setattr(submission, name, value)


def _row(context, sid) -> Submission:
    with context.session_factory() as session:
        return session.get(Submission, sid)


def test_the_reaper_handles_each_stuck_run_alone_and_skips_one_its_worker_holds(fake_context):
    context = fake_context
    now = datetime.now(UTC)
    with context.session_factory.begin() as session:
        world = make_world(session, data_root=context.settings.data_root, kind=PhaseKind.FINAL)
        silent, held, exhausted, overran, healthy, lost = (
            world.add_submission(session) for _ in range(6)
        )
    quiet = now - timedelta(minutes=5)
    _set(context, silent, status=SubmissionStatus.RUNNING, attempt=1, queue="gpu-a100",
         started_at=now, updated_at=quiet)  # fmt: skip
    _set(context, held, status=SubmissionStatus.PREFLIGHT, attempt=1, started_at=now,
         updated_at=quiet)  # fmt: skip
    _set(context, exhausted, status=SubmissionStatus.SCORING, attempt=2, started_at=now,
         updated_at=quiet)  # fmt: skip
    # A final phase may run twice its limit (pre-flight, then the hidden cases) plus the margin.
    limit = 2 * 10 + context.settings.stuck_margin_s
    _set(context, overran, status=SubmissionStatus.RUNNING, attempt=1,
         started_at=now - timedelta(seconds=limit + 60), updated_at=now)  # fmt: skip
    _set(context, healthy, status=SubmissionStatus.RUNNING, attempt=1,
         started_at=now - timedelta(seconds=limit - 60), updated_at=now)  # fmt: skip
    _set(context, lost, queue="gpu-t4",
         updated_at=now - timedelta(seconds=context.settings.task_time_limit_s + 60))  # fmt: skip

    sent: list[tuple[int, str]] = []
    with context.session_factory.begin() as worker_session:
        # The worker of `held` is mid-transition: its row is locked right now.
        assert subs.get_submission_for_update(worker_session, held) is not None
        done: list[list[tuple[int, str]]] = []
        reaping = threading.Thread(
            target=lambda: done.append(
                reap_stuck(send=lambda i, q: sent.append((i, q)), context=context, now=now)
            )
        )
        reaping.start()
        reaping.join(30)
        assert not reaping.is_alive(), "the reaper waited for a locked row"
    (actions,) = done
    assert sorted(actions) == sorted(
        [(silent, "requeued"), (exhausted, "error"), (overran, "requeued"), (lost, "resent")]
    )
    assert sorted(sent) == sorted([(silent, "gpu-a100"), (overran, "evaluation"), (lost, "gpu-t4")])
    assert _row(context, held).status == SubmissionStatus.PREFLIGHT  # left for the next round
    assert _row(context, healthy).status == SubmissionStatus.RUNNING
    assert _row(context, silent).status == SubmissionStatus.QUEUED
    assert "stopped answering" in _row(context, silent).message
    assert "overran" in _row(context, overran).message
    ended = _row(context, exhausted)
    assert (ended.status, ended.slot, ended.failure_class) == (
        SubmissionStatus.ERROR,
        None,
        "worker_lost",
    )
    # Next round, with the lock gone: the held run is taken back too, and nothing else moves.
    again = reap_stuck(send=lambda i, q: sent.append((i, q)), context=context, now=now)
    assert again == [(held, "requeued")]
    assert _row(context, held).status == SubmissionStatus.QUEUED
