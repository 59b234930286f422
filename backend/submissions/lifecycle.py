"""The submission lifecycle: every state, the moves between them, the rules that hang on them.

One table, :data:`LIFECYCLE`, says for each state where it may go next and what
it means (waiting for a worker, in progress, finished, whether entering it
refunds the quota slot, whether the team may cancel it, whether an organiser
may queue it again, whether its team may read the container's log in a final
phase). Everything else — :func:`backend.submissions.repository.set_status`,
the worker's guards, the reaper, the API, the metrics, the embedded mode — asks
this module instead of keeping its own set::

    queued ─▶ [preflight ─▶] running ─▶ scoring ─▶ succeeded
      │            │             │          │          │
      ▼            ▼             ▼          ▼          ▼
    cancelled  failed_preflight  failed   failed    (queued again by an organiser,
    (refunded)   (refunded)    (spent)   (spent)     like failed and error)

    any of queued, preflight, running, scoring ─▶ queued (retry) or error (refunded)
    preflight, running, scoring ─▶ preflight or running (a silent run taken over)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from backend.enums import PhaseKind, SubmissionStatus

S = SubmissionStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class StateRules:
    """What one state means and where it may go.

    Attributes
    ----------
    next
        The states it may move to (a move to itself included where listed).
    waiting
        It waits for a worker (the queue length counts it).
    in_progress
        A worker runs it and refreshes ``updated_at`` as a heartbeat; a
        silent one is taken over.
    container
        Its container is (or is about to be) running.
    finished
        The evaluation has ended: ``finished_at`` and ``runtime_s`` are stamped.
    refunds
        Entering it gives the team its quota slot back (the fault was not the
        team's, or nothing ran on the hidden cases).
    cancellable
        Its team may still cancel it.
    rescorable
        An organiser may send it back to the queue for another run.
    log_shown_in_final
        Its team may read the container's log even in a final phase: only the
        public sample cases ran (pre-flight), so the log cannot carry hidden data.
    """

    next: frozenset[SubmissionStatus]
    waiting: bool = False
    in_progress: bool = False
    container: bool = False
    finished: bool = False
    refunds: bool = False
    cancellable: bool = False
    rescorable: bool = False
    log_shown_in_final: bool = False


#: Where a run may go from a state in progress: forward, back to the queue for a
#: retry (an infrastructure fault, the reaper), to ``error`` after the last attempt,
#: or restarted from the top by the next attempt after its worker went silent.
_INTERRUPTED = frozenset({S.QUEUED, S.ERROR, S.PREFLIGHT, S.RUNNING})

#: The table (read-only). Every member of :class:`SubmissionStatus` has a row.
LIFECYCLE: Mapping[SubmissionStatus, StateRules] = MappingProxyType(
    {
        # Accepted with its slot; a fault before the run started is retried
        # (queued again) or, on the last attempt, ends in error.
        S.QUEUED: StateRules(
            next=frozenset({S.PREFLIGHT, S.RUNNING, S.QUEUED, S.ERROR, S.CANCELLED}),
            waiting=True,
            cancellable=True,
        ),
        S.PREFLIGHT: StateRules(
            next=_INTERRUPTED | {S.FAILED_PREFLIGHT},
            in_progress=True,
            container=True,
        ),
        S.RUNNING: StateRules(
            next=_INTERRUPTED | {S.SCORING, S.FAILED}, in_progress=True, container=True
        ),
        S.SCORING: StateRules(next=_INTERRUPTED | {S.SUCCEEDED, S.FAILED}, in_progress=True),
        S.SUCCEEDED: StateRules(next=frozenset({S.QUEUED}), finished=True, rescorable=True),
        S.FAILED: StateRules(next=frozenset({S.QUEUED}), finished=True, rescorable=True),
        S.FAILED_PREFLIGHT: StateRules(
            next=frozenset(), finished=True, refunds=True, log_shown_in_final=True
        ),
        S.ERROR: StateRules(
            next=frozenset({S.QUEUED}), finished=True, refunds=True, rescorable=True
        ),
        S.CANCELLED: StateRules(next=frozenset(), finished=True, refunds=True),
    }
)


def _where(rule: Callable[[StateRules], bool]) -> frozenset[SubmissionStatus]:
    return frozenset(status for status, rules in LIFECYCLE.items() if rule(rules))


#: Waiting for a worker.
WAITING = _where(lambda r: r.waiting)
#: Run by a worker that beats a heartbeat.
IN_PROGRESS = _where(lambda r: r.in_progress)
#: A container is (about to be) running: pre-flight or the hidden cases.
CONTAINER_RUNNING = _where(lambda r: r.container)
#: Not finished: waiting or in progress. A worker may start (or take over) these, and
#: the embedded mode sends them again after a restart.
UNFINISHED = WAITING | IN_PROGRESS
#: The evaluation has ended (``finished_at`` stamped).
FINISHED = _where(lambda r: r.finished)
#: Entering one gives the quota slot back.
REFUNDING = _where(lambda r: r.refunds)
#: The team may still cancel it.
CANCELLABLE = _where(lambda r: r.cancellable)
#: An organiser may queue it again.
RESCORABLE = _where(lambda r: r.rescorable)
#: A submission with an evaluation keeps it on the board in these: succeeded, and every
#: unfinished state (an organiser's re-run, until the new evaluation succeeds).
KEEPS_BOARD_RESULT = frozenset({S.SUCCEEDED}) | UNFINISHED


class TransitionError(RuntimeError):
    """A move the lifecycle does not allow: a bug in the caller, which checks first."""


def can_move(current: SubmissionStatus, to: SubmissionStatus) -> bool:
    """Whether the table allows ``current`` → ``to``.

    Examples
    --------
    >>> can_move(SubmissionStatus.QUEUED, SubmissionStatus.CANCELLED)
    True
    >>> can_move(SubmissionStatus.RUNNING, SubmissionStatus.CANCELLED)
    False
    """
    return to in LIFECYCLE[current].next


def check_move(current: SubmissionStatus, to: SubmissionStatus) -> None:
    """Raise :class:`TransitionError` unless the table allows ``current`` → ``to``."""
    if not can_move(current, to):
        allowed = ", ".join(sorted(s.value for s in LIFECYCLE[current].next)) or "nothing"
        raise TransitionError(
            f"a submission cannot move from {current.value} to {to.value} "
            f"(from {current.value}: {allowed})"
        )


def team_sees_log(kind: PhaseKind, status: SubmissionStatus) -> bool:
    """Whether a team may read its own container's log in a phase of ``kind``.

    A final-phase container runs on the hidden test images and could print
    them, so its log is withheld — unless only the public sample cases ran
    (a failed pre-flight, which is how the team learns why). Validation phases
    show every log. Organisers see every log (:mod:`backend.auth.roles`).

    Examples
    --------
    >>> team_sees_log(PhaseKind.FINAL, SubmissionStatus.FAILED)
    False
    >>> team_sees_log(PhaseKind.FINAL, SubmissionStatus.FAILED_PREFLIGHT)
    True
    """
    return kind == PhaseKind.VALIDATION or LIFECYCLE[status].log_shown_in_final
