"""What the organisers' console and the team page need beyond the domain endpoints.

Everything here answers from the same services and rules as the rest of the API
(the publish rule of ``leaderboard.visibility``, the export rows of the
``podium phase export`` command, the failure advice of ``submissions.advice``),
so the pages never re-derive a rule in JavaScript.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from backend.challenges import repository as challenges
from backend.cli.export import ExportView, export_rows, rows_csv
from backend.db import utcnow
from backend.deps import OrganiserUser, SessionDep, SettingsDep
from backend.enums import LeaderboardVisibility, SubmissionStatus
from backend.errors import NotFoundError
from backend.leaderboard.visibility import can_publish
from backend.notifications import repository as hooks
from backend.notifications import service as webhook_service
from backend.notifications.webhooks import webhook_secret
from backend.submissions import repository as submissions
from backend.submissions.advice import FAILURE_ADVICE
from backend.teams import repository as teams

router = APIRouter(tags=["console"])


class AdviceOut(BaseModel):
    """A failure class in words."""

    meaning: str
    what_to_change: str


class PhaseStateOut(BaseModel):
    """What an organiser may do with a phase now."""

    phase_id: int
    published: bool
    #: Why publishing is refused now (``None``: allowed, or done already).
    publish_refusal: str | None


class ConsoleSubmissionOut(BaseModel):
    """A submission in the organisers' list (log included)."""

    id: int
    team_id: int | None
    team: str
    status: SubmissionStatus
    failure_class: str | None
    message: str
    log_tail: str | None
    attempt: int
    created_at: datetime
    finished_at: datetime | None
    runtime_s: float | None


class WebhookIn(BaseModel):
    """Where to POST the challenge's events."""

    url: str = Field(min_length=1, max_length=2000)


class WebhookOut(BaseModel):
    """The challenge's webhook, with its signing secret (organisers only)."""

    url: str | None
    secret: str | None
    last_status: str | None
    last_at: datetime | None


@router.get("/failure-classes", response_model=dict[str, AdviceOut])
def failure_classes() -> dict[str, AdviceOut]:
    """What each `failure_class` means and what to change (public; the team page shows it)."""
    return {k: AdviceOut(**v._asdict()) for k, v in FAILURE_ADVICE.items()}


@router.get("/phases/{phase_id}/console", response_model=PhaseStateOut)
def phase_state(phase_id: int, _: OrganiserUser, session: SessionDep) -> PhaseStateOut:
    """Whether the phase's board may be published now, and why not (organisers)."""
    phase = challenges.get_phase(session, phase_id)
    if phase is None:
        raise NotFoundError("phase", phase_id)
    published = phase.leaderboard_visibility == LeaderboardVisibility.PUBLISHED
    return PhaseStateOut(
        phase_id=phase.id,
        published=published,
        publish_refusal=None if published else can_publish(phase, now=utcnow()),
    )


@router.get("/phases/{phase_id}/console/submissions", response_model=list[ConsoleSubmissionOut])
def phase_submissions(
    phase_id: int,
    _: OrganiserUser,
    session: SessionDep,
    status_: Annotated[list[SubmissionStatus] | None, Query(alias="status")] = None,
    team_id: int | None = None,
) -> list[ConsoleSubmissionOut]:
    """Every team's submissions to a phase, newest first, with logs (organisers);
    filter by `status` (repeatable) and `team_id`."""
    if challenges.get_phase(session, phase_id) is None:
        raise NotFoundError("phase", phase_id)
    names: dict[int, str] = {}
    rows = []
    for s in reversed(
        submissions.list_phase_submissions(session, phase_id=phase_id, statuses=status_)
    ):
        if team_id is not None and s.team_id != team_id:
            continue
        if s.team_id is None:
            name = "(reference entry)"
        else:
            if s.team_id not in names:
                team = teams.get_team(session, s.team_id)
                names[s.team_id] = team.name if team else f"team {s.team_id}"
            name = names[s.team_id]
        rows.append(
            ConsoleSubmissionOut(
                id=s.id,
                team_id=s.team_id,
                team=name,
                status=s.status,
                failure_class=s.failure_class or None,
                message=s.message,
                log_tail=s.log_tail,
                attempt=s.attempt,
                created_at=s.created_at,
                finished_at=s.finished_at,
                runtime_s=s.runtime_s,
            )
        )
    return rows


@router.get(
    "/phases/{phase_id}/case-scores.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per case score."}},
)
def case_scores_csv(
    phase_id: int,
    organiser: OrganiserUser,
    session: SessionDep,
    view: ExportView = ExportView.ORGANISERS,
) -> Response:
    """Every succeeded submission's per-case scores as CSV: `case-scores.csv` of
    `podium phase export` (columns in docs/organisers.md; organisers)."""
    board, rows, _ = export_rows(session, phase_id=phase_id, viewer=organiser, view=view)
    name = f"case-scores-{board.phase.challenge}-{board.phase.task}-{board.phase.slug}-{view.value}"
    return Response(
        rows_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _webhook_out(session: SessionDep, slug: str, secret_key: str) -> WebhookOut:
    challenge = webhook_service.challenge_by_slug(session, slug)
    hook = hooks.webhook_of(session, challenge.id)
    if hook is None:
        return WebhookOut(url=None, secret=None, last_status=None, last_at=None)
    return WebhookOut(
        url=hook.url,
        secret=webhook_secret(hook, secret_key=secret_key),
        last_status=hook.last_status,
        last_at=hook.last_at,
    )


@router.get("/challenges/{slug}/webhook", response_model=WebhookOut)
def get_webhook(
    slug: str, _: OrganiserUser, session: SessionDep, settings: SettingsDep
) -> WebhookOut:
    """The challenge's webhook and its signing secret (organisers)."""
    return _webhook_out(session, slug, settings.secret_key)


@router.put("/challenges/{slug}/webhook", response_model=WebhookOut)
def put_webhook(
    slug: str, body: WebhookIn, organiser: OrganiserUser, session: SessionDep, settings: SettingsDep
) -> WebhookOut:
    """POST the challenge's events (a submission ended, a team waits for approval) to `url`,
    signed with HMAC-SHA256 (`X-Podium-Signature`); audited."""
    webhook_service.set_webhook(session, actor=organiser, slug=slug, url=body.url)
    return _webhook_out(session, slug, settings.secret_key)


@router.delete("/challenges/{slug}/webhook", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(slug: str, organiser: OrganiserUser, session: SessionDep) -> None:
    """Stop calling the challenge's webhook (audited)."""
    webhook_service.remove_webhook(session, actor=organiser, slug=slug)
