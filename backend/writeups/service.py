"""Rules for write-ups: a team names its method and uploads its PDF; a phase may require one.

A phase whose ``writeup:`` block says ``required: true`` refuses a team's
submission until the team has uploaded its write-up (TriALS asked for one with
every final container). Organisers see every write-up with the submissions;
the public sees a write-up once the phase's board is public (a final phase's
after publishing). Flushes only.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.audit import repository as audit
from backend.auth.models import User
from backend.auth.roles import is_organiser
from backend.challenges import repository as challenges
from backend.challenges.models import Phase
from backend.db import utcnow
from backend.errors import DomainError, ForbiddenError, NotFoundError
from backend.leaderboard import cache
from backend.leaderboard.visibility import is_public
from backend.storage import StagedUpload, Storage, StorageError, remove_on_rollback
from backend.teams import repository as teams
from backend.teams.models import Team
from backend.writeups import repository
from backend.writeups.models import Writeup
from backend.writeups.pdf import NotAPdfError, check_pdf
from backend.writeups.rules import writeup_rules_of
from backend.writeups.schemas import MethodIn, WriteupOut

API = "/api/v1"


def pdf_url(phase_id: int, team_id: int) -> str:
    """Where a team's write-up PDF is served."""
    return f"{API}/phases/{phase_id}/writeups/{team_id}.pdf"


def require_writeup(session: Session, *, phase: Phase, team: Team) -> None:
    """Refuse a submission to a phase that requires a write-up the team has not uploaded.

    Raises
    ------
    DomainError
        409 with what to do.
    """
    if not writeup_rules_of(phase.writeup).required:
        return
    found = repository.get_writeup(session, team_id=team.id, phase_id=phase.id)
    if found is None or found.pdf_path is None:
        raise DomainError(
            f"phase {phase.title!r} requires a write-up with every submission: upload your "
            f"method's description as a PDF first (PUT {API}/phases/{phase.id}/writeup.pdf)",
            409,
        )


def _phase_and_team(session: Session, *, phase_id: int, user: User) -> tuple[Phase, Team]:
    found = challenges.phase_context(session, phase_id)
    if found is None:
        raise NotFoundError("phase", phase_id)
    phase, _, challenge = found
    team = teams.team_of(session, user_id=user.id, challenge_id=challenge.id)
    if team is None:
        raise ForbiddenError(f"you are not in a team of {challenge.slug}")
    return phase, team


def _out(phase: Phase, team: Team, w: Writeup | None) -> WriteupOut:
    rules = writeup_rules_of(phase.writeup)
    return WriteupOut(
        team_id=team.id,
        team=team.name,
        phase_id=phase.id,
        method_name="" if w is None else w.method_name,
        method_link="" if w is None else w.method_link,
        pdf_size=None if w is None else w.pdf_size,
        pdf_sha256=None if w is None else w.pdf_sha256,
        pdf_uploaded_at=None if w is None else w.pdf_uploaded_at,
        pdf_url=None if w is None or w.pdf_path is None else pdf_url(phase.id, team.id),
        required=rules.required,
        max_mb=rules.max_mb,
    )


def _get_or_create(session: Session, *, phase: Phase, team: Team, user: User) -> Writeup:
    w = repository.get_writeup(session, team_id=team.id, phase_id=phase.id)
    if w is None:
        w = Writeup(team_id=team.id, phase_id=phase.id, method_name="", method_link="")
        session.add(w)
    w.updated_by_id = user.id
    return w


def own(session: Session, *, phase_id: int, user: User) -> WriteupOut:
    """The user's team's write-up in the phase (empty when none yet)."""
    phase, team = _phase_and_team(session, phase_id=phase_id, user=user)
    return _out(phase, team, repository.get_writeup(session, team_id=team.id, phase_id=phase.id))


def set_method(session: Session, *, phase_id: int, user: User, method: MethodIn) -> WriteupOut:
    """Name the team's method (and link it) on the phase's board."""
    phase, team = _phase_and_team(session, phase_id=phase_id, user=user)
    w = _get_or_create(session, phase=phase, team=team, user=user)
    w.method_name, w.method_link = method.name, method.link
    session.flush()
    cache.leaderboard_changed(session, phase_id=phase.id)
    return _out(phase, team, w)


def store_pdf(
    session: Session, *, phase_id: int, user: User, staged: StagedUpload, storage: Storage
) -> WriteupOut:
    """Keep the team's write-up PDF (checked to be one; size-capped by the phase; audited).

    Raises
    ------
    DomainError
        413 over the phase's size cap, 422 when the file is not a PDF.
    """
    phase, team = _phase_and_team(session, phase_id=phase_id, user=user)
    rules = writeup_rules_of(phase.writeup)
    if staged.size > rules.max_bytes:
        raise DomainError(
            f"the write-up is {staged.size / 2**20:.1f} MiB; this phase takes up to "
            f"{rules.max_mb} MiB",
            413,
        )
    try:
        check_pdf(staged.path)
    except NotAPdfError as exc:
        raise DomainError(f"write-up refused: {exc}", 422) from exc
    key = f"writeups/phase-{phase.id}/team-{team.id}-{staged.sha256[:16]}.pdf"
    try:
        if not storage.exists(key):  # the same PDF again: stored once
            storage.move_in(staged.path, key)
            remove_on_rollback(session, storage, key)
    except StorageError as exc:
        raise DomainError(
            f"the write-up could not be stored, please send it again: {exc}", 503
        ) from exc
    w = _get_or_create(session, phase=phase, team=team, user=user)
    before = None if w.pdf_sha256 is None else {"pdf_sha256": w.pdf_sha256}
    w.pdf_path, w.pdf_sha256, w.pdf_size = key, staged.sha256, staged.size
    w.pdf_uploaded_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor_id=user.id,
        action="writeup.upload",
        target_type="team",
        target_id=team.id,
        before=before,
        after={"phase_id": phase.id, "pdf_sha256": staged.sha256, "pdf_size": staged.size},
    )
    cache.leaderboard_changed(session, phase_id=phase.id)
    return _out(phase, team, w)


def phase_writeups(session: Session, *, phase_id: int) -> list[WriteupOut]:
    """Every team's write-up in the phase, teams without one included (organisers)."""
    found = challenges.phase_context(session, phase_id)
    if found is None:
        raise NotFoundError("phase", phase_id)
    phase, _, challenge = found
    by_team = repository.phase_writeups(session, phase_id=phase_id)
    return [
        _out(phase, t, by_team.get(t.id)) for t in teams.teams_of_challenge(session, challenge.id)
    ]


def pdf_file(
    session: Session, *, phase_id: int, team_id: int, user: User | None
) -> tuple[str, str]:
    """The write-up's storage key and a download name, if ``user`` may read it.

    Organisers and the team's members always may; everyone once the phase's
    board is public. Others get 404, as for a write-up that does not exist.
    """
    found = challenges.phase_context(session, phase_id)
    if found is None:
        raise NotFoundError("phase", phase_id)
    phase, _, challenge = found
    w = repository.get_writeup(session, team_id=team_id, phase_id=phase_id)
    team = teams.get_team(session, team_id)
    if w is None or w.pdf_path is None or team is None:
        raise NotFoundError("write-up", f"{phase_id}/{team_id}")
    member = user is not None and (
        (mine := teams.team_of(session, user_id=user.id, challenge_id=challenge.id)) is not None
        and mine.id == team_id
    )
    if not (is_public(phase) or member or is_organiser(user)):
        raise NotFoundError("write-up", f"{phase_id}/{team_id}")
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in team.name)
    return w.pdf_path, f"writeup-{phase.slug}-{safe}.pdf"
