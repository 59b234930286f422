"""The worker's own pull token: no team's secret, one repository, pull only.

The worker mints it with the signing key it shares with the API
(``PODIUM_REGISTRY_KEY_DIR``) and hands it to the engine as a registry token
(:func:`worker.engine_images.registry_auth_header`); the token server is not
asked.
"""

from __future__ import annotations

from backend.registry.keys import SigningKeyMissing, load_signing_key
from backend.registry.tokens import Access, mint
from worker.config import WorkerSettings
from worker.runner.base import InfrastructureError


def pull_token(settings: WorkerSettings, repository: str) -> str:
    """A pull-only token for one repository, signed with the key the API shares.

    Raises
    ------
    InfrastructureError
        The worker cannot read the signing key (``PODIUM_REGISTRY_KEY_DIR``).
    """
    try:
        key = load_signing_key(settings.registry_keys)
    except SigningKeyMissing as exc:
        raise InfrastructureError(str(exc)) from exc
    token, _ = mint(
        key,
        issuer=settings.registry_issuer,
        service=settings.registry_service,
        subject=f"worker:{settings.container_prefix}:{settings.worker_queue}",
        access=[Access("repository", repository, ("pull",))],
        ttl_s=settings.registry_pull_token_ttl_s,
    )
    return token
