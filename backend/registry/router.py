"""The registry's token endpoint, its notification webhook, and what teams need to push."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from backend.auth.roles import is_organiser
from backend.deps import CurrentUser, SessionDep, SettingsDep
from backend.errors import DomainError
from backend.registry import catalog, service
from backend.registry.schemas import (
    NamespaceOut,
    NotificationsOut,
    PushedRepositoryOut,
    PushedTagOut,
    RegistryOut,
    TeamImagesOut,
    TokenOut,
)

router = APIRouter(tags=["registry"])

#: A notification envelope larger than this is refused (the registry batches a few events).
_MAX_NOTIFICATION = 4 * 1024 * 1024


def _docker_error(exc: DomainError) -> JSONResponse:
    """Podium's error body plus the ``errors`` list the Docker client prints."""
    code = {401: "UNAUTHORIZED", 403: "DENIED"}.get(exc.status, "UNSUPPORTED")
    body: dict[str, Any] = {
        "message": exc.message,
        "detail": exc.detail,
        "errors": [{"code": code, "message": exc.message, "detail": exc.detail}],
    }
    headers = {"WWW-Authenticate": 'Basic realm="Podium"'} if exc.status == 401 else None
    return JSONResponse(body, status_code=exc.status, headers=headers)


@router.get(
    "/registry/token",
    response_model=TokenOut,
    responses={
        401: {"description": "No or wrong credentials (Basic: e-mail and API token)."},
        403: {"description": "A push outside the team's namespace; the message says why."},
    },
)
def registry_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    service_name: Annotated[str | None, Query(alias="service")] = None,
    scope: Annotated[list[str] | None, Query()] = None,
) -> Any:
    """Issue a registry token (the Docker registry token specification).

    Authenticate with HTTP Basic: your e-mail address and a Podium API token
    (what `docker login` sends). Each `scope` is `repository:NAME:ACTIONS`;
    the token allows what Podium's rules grant of them, and `refused` says
    what was not granted and why.
    """
    try:
        user = service.authenticate_basic(
            session,
            authorization=request.headers.get("authorization"),
            secret_key=settings.secret_key,
        )
        issued = service.issue_token(
            session, settings=settings, user=user, service=service_name, scopes=scope or []
        )
    except DomainError as exc:
        # Answered, not raised: the audit record of a refusal must commit.
        return _docker_error(exc)
    refused = [{"scope": r.scope, "reason": r.reason} for r in issued.decision.refused]
    return TokenOut(
        token=issued.token,
        access_token=issued.token,
        expires_in=issued.expires_in,
        issued_at=issued.issued_at,
        refused=refused,
    )


@router.get("/registry", response_model=RegistryOut)
def registry_info(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    phase: Annotated[
        int | None, Query(description="Only the challenge this phase belongs to.")
    ] = None,
) -> RegistryOut:
    """The registry's address and, per challenge, the prefix your team pushes under."""
    address = settings.registry_address or None
    only = None if phase is None else service.challenge_of_phase(session, phase)
    return RegistryOut(
        enabled=service.enabled(settings),
        address=address,
        username=user.email,
        login=None if address is None else f"docker login {address} -u {user.email}",
        pull_everything=is_organiser(user),
        namespaces=[
            NamespaceOut(**asdict(n))
            for n in service.namespaces(session, settings=settings, user=user)
            if only is None or n.challenge == only
        ]
        if address
        else [],
    )


@router.get("/registry/repositories", response_model=TeamImagesOut)
def team_repositories(
    challenge: Annotated[str, Query(description="The challenge's slug.")],
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> TeamImagesOut:
    """Your team's pushed repositories and tags in a challenge, newest push first."""
    images = catalog.team_images(session, settings=settings, user=user, challenge_slug=challenge)
    return TeamImagesOut(
        challenge=images.challenge,
        prefix=images.prefix,
        repositories=[
            PushedRepositoryOut(
                repository=r.repository,
                reference=r.reference,
                tags=[
                    PushedTagOut(
                        tag=t.tag,
                        reference=t.reference,
                        digest=t.digest,
                        pushed_at=t.pushed_at,
                        pushed_by=t.pushed_by,
                    )
                    for t in r.tags
                ],
            )
            for r in images.repositories
        ],
    )


@router.post("/registry/notifications", response_model=NotificationsOut, include_in_schema=False)
async def registry_notifications(
    request: Request, session: SessionDep, settings: SettingsDep
) -> NotificationsOut:
    """The registry's webhook (shared secret in the Authorization header)."""
    service.check_notification_secret(settings, header=request.headers.get("authorization"))
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > _MAX_NOTIFICATION:
            raise DomainError("notification envelope too large", 413)
    try:
        envelope = json.loads(data)
    except ValueError as exc:
        raise DomainError(f"a registry notification must be JSON: {exc}", 422) from exc
    recorded = await run_in_threadpool(service.record_notifications, session, envelope)
    return NotificationsOut(recorded=recorded)
