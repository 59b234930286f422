"""The notification jobs, run by a worker (Celery) or the embedded queue, never in a request.

Each takes the process's session factory and settings first, then the job's
JSON arguments (what the request or transition sent by name). Each is safe to
run twice: an account e-mail whose link was written already is not sent again.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from backend.auth import repository as users
from backend.auth.accounts import SEND_ACCOUNT_EMAIL, SIGNUP
from backend.auth.security import hash_token
from backend.challenges import repository as challenges
from backend.config import Settings
from backend.db import utcnow
from backend.enums import PhaseKind, SubmissionStatus
from backend.notifications import mailer, messages, repository
from backend.notifications.webhooks import deliver, event_body, webhook_secret
from backend.submissions import repository as submissions
from backend.submissions.lifecycle import REFUNDING
from backend.teams import repository as teams

log = structlog.get_logger(__name__)

NOTIFY_SUBMISSION_ENDED = "notify_submission_ended"
NOTIFY_TEAM_WAITING = "notify_team_waiting"

Factory = sessionmaker[Session]


def base_url(settings: Settings) -> str:
    """Where links in e-mails point."""
    return (settings.public_url or "http://localhost:8000").rstrip("/")


def send_account_email(factory: Factory, settings: Settings, row_id: int) -> str:
    """Write the e-mail of a pending sign-up or reset: a link, a note, or nothing.

    The link's token is made here and only its hash is stored, after the e-mail
    went out: a failed send leaves the row as it was, and the retry makes a new one.
    """
    with factory() as session, session.begin():
        row = users.get_account_token(session, int(row_id))
        if row is None or row.token_hash is not None or row.used_at is not None:
            return "done already"
        if row.expires_at <= utcnow():
            return "expired"
        user = users.get_user_by_email(session, row.email)
        base = base_url(settings)
        if row.purpose == SIGNUP:
            if user is not None:
                row.used_at = utcnow()
                mail = messages.account_exists(base_url=base, to=row.email)
                mailer.send(settings, mail)
                return "account exists"
            token = secrets.token_urlsafe(32)
            mailer.send(
                settings,
                messages.signup_link(
                    base_url=base, to=row.email, token=token, hours=settings.verify_link_ttl_hours
                ),
            )
        else:
            if user is None or not user.is_active:
                row.used_at = utcnow()  # nothing to reset: no e-mail (the answer said "if")
                return "no account"
            token = secrets.token_urlsafe(32)
            mailer.send(
                settings,
                messages.reset_link(
                    base_url=base,
                    to=user.email,
                    token=token,
                    minutes=settings.reset_link_ttl_minutes,
                ),
            )
        row.token_hash = hash_token(token, secret_key=settings.secret_key)
        return "sent"


def _validation_summary(session: Session, submission_id: int) -> list[str]:
    """Mean Dice and case count per paradigm of the latest evaluation."""
    evaluation = submissions.latest_evaluation(session, submission_id)
    if evaluation is None:
        return []
    dice: dict[str, list[float]] = defaultdict(list)
    for score in submissions.case_scores(session, evaluation.id):
        dice[score.paradigm].append(score.dice)
    return [
        f"{paradigm}: mean Dice per case {sum(values) / len(values):.3f} over {len(values)} cases"
        for paradigm, values in sorted(dice.items())
        if values
    ]


def notify_submission_ended(factory: Factory, settings: Settings, submission_id: int) -> str:
    """E-mail the team's members (and call the challenge's webhook) about an ended submission."""
    with factory() as session, session.begin():
        sub = submissions.get_submission(session, int(submission_id))
        if sub is None:
            return "no such submission"
        if sub.team_id is None:
            return "a reference entry: no team to tell"
        found = challenges.phase_context(session, sub.phase_id)
        team = teams.get_team(session, sub.team_id)
        if found is None or team is None:
            return "no such phase or team"
        phase, task, challenge = found
        validation = phase.kind == PhaseKind.VALIDATION
        summary = (
            _validation_summary(session, sub.id)
            if validation and sub.status == SubmissionStatus.SUCCEEDED
            else []
        )
        emails = [u.email for u in teams.members(session, team.id) if u.is_active]
        status = sub.status.value
        mail = messages.submission_ended(
            base_url=base_url(settings),
            to=emails,
            challenge_slug=challenge.slug,
            team=team.name,
            phase=f"{task.title} · {phase.title}",
            submission_id=sub.id,
            status=status,
            failure_class=sub.failure_class or None,
            # A final phase's message may name hidden cases; e-mails carry only the class.
            message=sub.message if validation else "",
            summary=summary,
            refunded=sub.status in REFUNDING,
        )
        data = {
            "submission_id": sub.id,
            "team": team.name,
            "team_id": team.id,
            "phase_id": phase.id,
            "status": status,
            "failure_class": sub.failure_class or None,
            "refunded": sub.status in REFUNDING,
        }
        challenge_id = challenge.id
        slug = challenge.slug
    mailer.send(settings, mail)
    _webhook(
        factory, settings, challenge_id, event_body("submission.ended", challenge=slug, data=data)
    )
    return "sent"


def notify_team_waiting(factory: Factory, settings: Settings, team_id: int) -> str:
    """E-mail the organisers (and call the webhook) that a team waits for approval."""
    with factory() as session, session.begin():
        team = teams.get_team(session, int(team_id))
        if team is None or team.approved:
            return "nothing waits"
        challenge = repository.get_challenge(session, team.challenge_id)
        captain = users.get_user(session, team.captain_id)
        if challenge is None or captain is None:
            return "nothing waits"
        mail = messages.team_waiting(
            base_url=base_url(settings),
            to=[u.email for u in users.organisers(session)],
            challenge_slug=challenge.slug,
            team=team.name,
            captain=f"{captain.display_name} <{captain.email}>",
        )
        body = event_body(
            "team.waiting",
            challenge=challenge.slug,
            data={"team_id": team.id, "team": team.name},
        )
        challenge_id = challenge.id
    mailer.send(settings, mail)
    _webhook(factory, settings, challenge_id, body)
    return "sent"


def _webhook(factory: Factory, settings: Settings, challenge_id: int, body: dict[str, Any]) -> None:
    """Deliver ``body`` to the challenge's webhook, if it has one, and record the outcome."""
    with factory() as session, session.begin():
        hook = repository.webhook_of(session, challenge_id)
        if hook is None:
            return
        url, secret = hook.url, webhook_secret(hook, secret_key=settings.secret_key)
    outcome = deliver(
        url=url,
        secret=secret,
        body=body,
        attempts=settings.webhook_attempts,
        backoff_s=settings.webhook_backoff_s,
    )
    with factory() as session, session.begin():
        hook = repository.webhook_of(session, challenge_id)
        if hook is not None:
            hook.last_status = f"{body['event']}: {outcome}"[:400]
            hook.last_at = utcnow()
    log.info("webhook.delivered", challenge=challenge_id, outcome=outcome)


#: Job name -> body, for whoever runs jobs (worker/notify.py, worker/embedded.py).
JOBS: dict[str, Callable[..., str]] = {
    SEND_ACCOUNT_EMAIL: send_account_email,
    NOTIFY_SUBMISSION_ENDED: notify_submission_ended,
    NOTIFY_TEAM_WAITING: notify_team_waiting,
}
