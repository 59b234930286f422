"""The registry's token server and what Podium tells teams about the registry.

Flushes only; the request commits.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session

from backend.audit import repository as audit
from backend.auth import repository as users
from backend.auth import service as auth
from backend.auth.models import User
from backend.challenges import repository as challenges
from backend.config import Settings
from backend.errors import DomainError, NotFoundError
from backend.registry import repository
from backend.registry.access import Decision, decide
from backend.registry.client import (
    IMAGE_MANIFESTS,
    MANIFEST_LISTS,
    RegistryClient,
    RegistryUnavailable,
)
from backend.registry.keys import load_signing_key
from backend.registry.models import RegistryEvent
from backend.registry.namespaces import split_repository, team_prefix
from backend.registry.registry_config import NOTIFY_HEADER, notify_secret
from backend.registry.tokens import ScopeError, mint, parse_scopes
from backend.teams import repository as teams

log = structlog.get_logger(__name__)


def enabled(settings: Settings) -> bool:
    """Whether this deployment has a registry."""
    return bool(settings.registry_url)


def require_enabled(settings: Settings) -> None:
    """404 with a hint when there is no registry."""
    if not enabled(settings):
        raise DomainError(
            "this Podium has no image registry (PODIUM_REGISTRY_URL is unset): submit a "
            "`docker save` tarball instead",
            404,
        )


def client(settings: Settings) -> RegistryClient:
    """A client for Podium's own registry calls."""
    require_enabled(settings)
    return RegistryClient(
        base_url=settings.registry_url,
        key=load_signing_key(settings.registry_keys, create=True),
        issuer=settings.registry_issuer,
        service=settings.registry_service,
    )


def unavailable(exc: RegistryUnavailable) -> DomainError:
    """The 503 a request gets when the registry is down: nothing was spent."""
    return DomainError(
        f"the image registry is not answering ({exc}); nothing was spent: try again in a few "
        "minutes, or upload a `docker save` tarball instead",
        503,
    )


# -- the token endpoint -----------------------------------------------------------
def authenticate_basic(session: Session, *, authorization: str | None, secret_key: str) -> User:
    """The user of ``Authorization: Basic base64(email:API token)``; 401 otherwise."""
    hint = "log in with `docker login REGISTRY -u <your e-mail> -p <a Podium API token>`"
    if not authorization or not authorization.lower().startswith("basic "):
        raise DomainError(f"the registry needs a Podium account: {hint}", 401)
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise DomainError(f"malformed Basic credentials: {hint}", 401) from exc
    email, _, token = decoded.partition(":")
    user = auth.authenticate_token(session, token=token, secret_key=secret_key)
    if user.email.lower() != email.strip().lower():
        raise DomainError(f"this API token belongs to another account than {email!r}: {hint}", 401)
    return user


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """What the token endpoint answers."""

    token: str
    issued_at: datetime
    expires_in: int
    decision: Decision


def issue_token(
    session: Session,
    *,
    settings: Settings,
    user: User,
    service: str | None,
    scopes: list[str],
) -> IssuedToken:
    """A token for what ``user`` may do of ``scopes``.

    Refusals are audited. A refused push (or delete), or a request of which
    nothing could be granted, is a 403 carrying the reasons, because that is
    the only way the stock ``docker`` client shows them; a partly refused pull
    is answered with the granted part, as the token specification asks
    (``docker push`` asks for pull access to other repositories to mount
    layers from, and falls back to uploading them).

    Raises
    ------
    DomainError
        400 for a malformed scope or another service's name, 403 as above.
    """
    require_enabled(settings)
    if service is not None and service != settings.registry_service:
        raise DomainError(
            f"this token server serves {settings.registry_service!r}, not {service!r}", 400
        )
    try:
        requested = parse_scopes(scopes)
    except ScopeError as exc:
        raise DomainError(str(exc), 400) from exc
    decision = decide(session, user=user, requested=requested)
    if decision.refused:
        reasons = [{"scope": r.scope, "reason": r.reason} for r in decision.refused]
        log.info("registry.scope_refused", user=user.email, refused=reasons)
        audit.record(
            session,
            actor_id=user.id,
            action="registry.scope_refused",
            target_type="user",
            target_id=user.id,
            after={"refused": reasons, "granted": [a.scope for a in decision.granted]},
        )
    if decision.refused and (decision.refused_push or not decision.granted):
        reasons_text = "; ".join(sorted({r.reason for r in decision.refused}))
        raise DomainError(
            f"access denied: {reasons_text}",
            403,
            detail={"refused": [{"scope": r.scope, "reason": r.reason} for r in decision.refused]},
        )
    ttl = settings.registry_token_ttl_s
    token, issued = mint(
        load_signing_key(settings.registry_keys, create=True),
        issuer=settings.registry_issuer,
        service=settings.registry_service,
        subject=user.email,
        access=decision.granted,
        ttl_s=ttl,
    )
    return IssuedToken(token=token, issued_at=issued, expires_in=ttl, decision=decision)


# -- notifications ----------------------------------------------------------------
def check_notification_secret(settings: Settings, *, header: str | None) -> None:
    """401 unless the request carries the registry's shared secret."""
    expected = f"Bearer {notify_secret(settings)}"
    if header is None or not hmac.compare_digest(header.encode(), expected.encode()):
        raise DomainError(
            f"registry notifications need the shared secret in the {NOTIFY_HEADER} header", 401
        )


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _timestamp(value: Any) -> datetime:
    text = _FRACTION.sub(r"\1", str(value or "")).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _team_id(session: Session, repository_name: str) -> int | None:
    path = split_repository(repository_name)
    challenge = challenges.get_challenge_by_slug(session, path.challenge)
    if challenge is None or path.team is None:
        return None
    team = teams.get_team_by_slug(session, challenge_id=challenge.id, slug=path.team)
    return None if team is None else team.id


def record_notifications(session: Session, envelope: Any) -> int:
    """Record the manifest events of one notification envelope; returns how many were new.

    Layer events are skipped (their manifest's event says it all); an event
    the registry sends again is recorded once. Pushes and deletes are audited.
    """
    events = envelope.get("events") if isinstance(envelope, dict) else None
    if not isinstance(events, list):
        raise DomainError("a registry notification is a JSON object with an events list", 422)
    recorded = 0
    for event in events:
        if not isinstance(event, dict):
            continue
        target = event.get("target") or {}
        media_type = str(target.get("mediaType") or "")
        action = str(event.get("action") or "")
        event_id = str(event.get("id") or "")
        repository_name = str(target.get("repository") or "")
        if not event_id or not repository_name or action not in {"push", "delete", "mount"}:
            continue
        if action != "delete" and media_type not in IMAGE_MANIFESTS | MANIFEST_LISTS:
            continue
        if repository.event_recorded(session, event_id[:100]):
            continue
        actor = str((event.get("actor") or {}).get("name") or "")
        row = repository.add_event(
            session,
            RegistryEvent(
                event_id=event_id[:100],
                action=action,
                repository=repository_name[:255],
                tag=(str(target["tag"])[:128] if target.get("tag") else None),
                digest=str(target.get("digest") or "")[:80],
                media_type=media_type[:200],
                size_bytes=target.get("size") if isinstance(target.get("size"), int) else None,
                actor=actor[:320],
                team_id=_team_id(session, repository_name),
                at=_timestamp(event.get("timestamp")),
            ),
        )
        recorded += 1
        person = users.get_user_by_email(session, actor) if "@" in actor else None
        audit.record(
            session,
            actor_id=None if person is None else person.id,
            action=f"registry.{action}",
            target_type="repository",
            target_id=repository_name[:100],
            after={
                "repository": row.repository,
                "tag": row.tag,
                "digest": row.digest,
                "size_bytes": row.size_bytes,
                "actor": actor,
            },
        )
    return recorded


# -- what a person may know about the registry --------------------------------------
@dataclass(frozen=True, slots=True)
class Namespace:
    """Where a team pushes in one challenge."""

    challenge: str
    challenge_title: str
    team: str
    team_slug: str
    prefix: str
    push: bool
    note: str | None


def challenge_of_phase(session: Session, phase_id: int) -> str:
    """The slug of a phase's challenge (404 when there is no such phase)."""
    context = challenges.phase_context(session, phase_id)
    if context is None:
        raise NotFoundError("phase", phase_id)
    return context[2].slug


def namespaces(session: Session, *, settings: Settings, user: User) -> list[Namespace]:
    """The user's repository prefix in each challenge they have a team in."""
    host = settings.registry_address
    found = []
    for team, challenge in teams.teams_of_user(session, user.id):
        note = None if team.approved else "waiting for an organiser's approval"
        found.append(
            Namespace(
                challenge=challenge.slug,
                challenge_title=challenge.title,
                team=team.name,
                team_slug=team.slug,
                prefix=f"{host}/{team_prefix(challenge.slug, team.slug)}",
                push=team.approved,
                note=note,
            )
        )
    return found
