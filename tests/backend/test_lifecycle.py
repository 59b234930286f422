"""The submission lifecycle table, walked pair by pair on real rows (PostgreSQL)."""

from __future__ import annotations

import doctest
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from backend.enums import PhaseKind, SubmissionStatus
from backend.submissions import lifecycle
from backend.submissions import repository as subs
from backend.submissions.lifecycle import LIFECYCLE, TransitionError
from tests.backend.factories import make_phase, make_submission, make_team

pytestmark = pytest.mark.postgres

S = SubmissionStatus
IN_PROGRESS = (S.PREFLIGHT, S.RUNNING, S.SCORING)

#: The documented moves (docs/worker.md, "States and exactly-once"), written out
#: independently of the table so that a change to either shows here.
DOCUMENTED = {
    (S.QUEUED, S.PREFLIGHT),  # a final phase starts with the pre-flight
    (S.QUEUED, S.RUNNING),  # a validation phase starts with the hidden cases
    (S.QUEUED, S.QUEUED),  # a fault before the run started, retried
    (S.QUEUED, S.ERROR),  # ... on the last attempt
    (S.QUEUED, S.CANCELLED),  # the team cancels
    (S.PREFLIGHT, S.RUNNING),  # pre-flight passed
    (S.PREFLIGHT, S.FAILED_PREFLIGHT),
    (S.RUNNING, S.SCORING),
    (S.RUNNING, S.FAILED),
    (S.SCORING, S.SUCCEEDED),
    (S.SCORING, S.FAILED),  # no case could be scored
    *((s, S.QUEUED) for s in IN_PROGRESS),  # retry after a fault; the reaper
    *((s, S.ERROR) for s in IN_PROGRESS),  # the last attempt failed on our side
    *((s, t) for s in IN_PROGRESS for t in (S.PREFLIGHT, S.RUNNING)),  # taken over
    (S.SUCCEEDED, S.QUEUED),  # an organiser re-scores
    (S.FAILED, S.QUEUED),
    (S.ERROR, S.QUEUED),
}


def test_the_table_has_every_state_and_exactly_the_documented_moves() -> None:
    assert set(LIFECYCLE) == set(SubmissionStatus)
    assert {(a, b) for a, rules in LIFECYCLE.items() for b in rules.next} == DOCUMENTED


def test_the_rule_sets_partition_the_states_as_documented() -> None:
    assert {S.QUEUED} == lifecycle.WAITING
    assert set(IN_PROGRESS) == lifecycle.IN_PROGRESS
    assert {S.PREFLIGHT, S.RUNNING} == lifecycle.CONTAINER_RUNNING
    assert lifecycle.UNFINISHED.isdisjoint(lifecycle.FINISHED)
    assert set(SubmissionStatus) == lifecycle.UNFINISHED | lifecycle.FINISHED
    assert {S.FAILED_PREFLIGHT, S.ERROR, S.CANCELLED} == lifecycle.REFUNDING
    assert lifecycle.REFUNDING <= lifecycle.FINISHED
    assert {S.QUEUED} == lifecycle.CANCELLABLE
    assert {S.SUCCEEDED, S.FAILED, S.ERROR} == lifecycle.RESCORABLE
    # Every state is reachable from the first one, and every unfinished one can finish.
    reached, frontier = {S.QUEUED}, [S.QUEUED]
    while frontier:
        for nxt in LIFECYCLE[frontier.pop()].next - reached:
            reached.add(nxt)
            frontier.append(nxt)
    assert reached == set(SubmissionStatus)
    assert all(LIFECYCLE[s].next & lifecycle.FINISHED for s in lifecycle.UNFINISHED)


@pytest.mark.parametrize("kind", list(PhaseKind))
@pytest.mark.parametrize("status", list(SubmissionStatus))
def test_a_team_sees_its_log_in_validation_phases_and_after_a_failed_preflight(
    kind: PhaseKind, status: SubmissionStatus
) -> None:
    expected = kind == PhaseKind.VALIDATION or status == S.FAILED_PREFLIGHT
    assert lifecycle.team_sees_log(kind, status) is expected


def test_set_status_walks_every_pair_of_states(db_session: Session) -> None:
    phase = make_phase(db_session, submission_limit=len(SubmissionStatus) ** 2)
    team = make_team(db_session, challenge_id=phase.task.challenge_id)
    started = datetime.now(UTC) - timedelta(minutes=1)
    for current, target in itertools.product(SubmissionStatus, repeat=2):
        submission = make_submission(db_session, team=team, phase=phase)
        submission.status = current
        submission.started_at = started
        db_session.flush()
        slot = submission.slot
        pair = f"{current.value} -> {target.value}"
        if (current, target) not in DOCUMENTED:
            with pytest.raises(TransitionError, match=f"from {current.value} to {target.value}"):
                subs.set_status(db_session, submission, status=target, message="moved")
            assert (submission.status, submission.slot, submission.message) == (
                current,
                slot,
                "",
            ), pair
            continue
        subs.set_status(db_session, submission, status=target, message="moved")
        assert submission.status == target, pair
        assert submission.message == "moved", pair
        assert (submission.slot is None) == (target in lifecycle.REFUNDING), pair
        assert (submission.finished_at is not None) == (target in lifecycle.FINISHED), pair
        if target in lifecycle.FINISHED:
            assert submission.runtime_s is not None, pair
            assert submission.runtime_s >= 60, pair
    refunds = [
        e for e in subs.quota_ledger(db_session, team_id=team.id, phase_id=phase.id) if e.change > 0
    ]
    assert len(refunds) == sum(1 for _, b in DOCUMENTED if b in lifecycle.REFUNDING)


def test_docstring_examples() -> None:
    failures, tried = doctest.testmod(lifecycle)
    assert tried > 0
    assert failures == 0
