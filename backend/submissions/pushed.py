"""Submitting a pushed image: resolve the reference, check it, pin it where only Podium writes.

Runs before a quota slot is taken and holds no database session (the calls go
to the registry): a refusal, or the registry being down, costs the team
nothing. A tag is resolved once, here; from then on the submission names the
manifest digest, so a later push to the tag changes nothing.

Pinning copies the manifest into Podium's repository of the team's submitted
images (:mod:`backend.registry.namespaces`) by mounting its blobs (no bytes are
copied) and storing the same manifest bytes under a per-digest tag: the team
deleting or overwriting its tag, and the registry's garbage collection, leave
the submitted image in place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from backend.challenges.contract import RootPolicy
from backend.config import Settings
from backend.errors import DomainError, ForbiddenError
from backend.registry import service as registry_service
from backend.registry.client import (
    IMAGE_MANIFESTS,
    MANIFEST_LISTS,
    Manifest,
    RegistryClient,
    RegistryRefused,
    RegistryUnavailable,
)
from backend.registry.namespaces import pinned_repository, pinned_tag, team_prefix
from backend.registry.references import ImageReference, parse_reference
from backend.storage import human_bytes
from backend.submissions.image_checks import RunConfig, check_image_config, refuse

_IMAGE_CONFIGS = frozenset(
    {"application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json"}
)


@dataclass(frozen=True, slots=True)
class Namespace:
    """The submitting team's place in the registry (plain values: no session is held)."""

    challenge_slug: str
    team_slug: str


@dataclass(frozen=True, slots=True)
class PinnedImage:
    """A pushed image, checked and pinned."""

    submitted: str
    manifest_digest: str
    config_digest: str
    reference: str
    size_bytes: int
    run: RunConfig


def image_size_limit(settings: Settings) -> int:
    """The largest image a phase accepts (the upload limit; one place to make it per phase)."""
    return settings.max_upload_bytes


def _platforms(index: dict[str, Any]) -> list[tuple[str, str, str]]:
    found = []
    for entry in index.get("manifests") or []:
        platform = entry.get("platform") or {}
        found.append(
            (
                str(platform.get("os", "?")),
                str(platform.get("architecture", "?")),
                str(entry.get("digest", "")),
            )
        )
    return found


def _image_manifest(registry: RegistryClient, ref: ImageReference, shown: str) -> Manifest:
    manifest = registry.get_manifest(ref.repository, ref.reference)
    if manifest is None:
        known = registry.tags(ref.repository)
        where = f"tags there: {', '.join(known[:20])}" if known else "that repository is empty"
        what = f"digest {ref.digest}" if ref.digest else f"tag {ref.tag or 'latest'!r}"
        raise DomainError(f"{shown}: the registry has no {what} ({where}); push it first", 422)
    if manifest.media_type in MANIFEST_LISTS:
        platforms = _platforms(manifest.body)
        chosen = [d for os_, arch, d in platforms if (os_, arch) == ("linux", "amd64")]
        if not chosen:
            names = sorted({f"{os_}/{arch}" for os_, arch, _ in platforms}) or ["none"]
            raise DomainError(
                f"{shown} is a multi-platform image without linux/amd64 (it has "
                f"{', '.join(names)}); build it with `docker build --platform linux/amd64`",
                422,
            )
        manifest_of_platform = registry.get_manifest(ref.repository, chosen[0])
        if manifest_of_platform is None:
            raise DomainError(f"{shown}: its linux/amd64 manifest is missing; push it again", 422)
        manifest = manifest_of_platform
    if manifest.media_type not in IMAGE_MANIFESTS:
        raise refuse(
            f"{shown} has a manifest of type {manifest.media_type or 'unknown'}; push it with "
            "a current Docker (image manifest v2 or OCI)"
        )
    return manifest


def _blobs(manifest: Manifest) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    config = manifest.body.get("config")
    layers = manifest.body.get("layers")
    if not isinstance(config, dict) or not isinstance(layers, list):
        raise refuse("the manifest names no config or layers")
    if config.get("mediaType") not in _IMAGE_CONFIGS:
        raise refuse(f"this is not a container image (its config is {config.get('mediaType')})")
    return config, [layer for layer in layers if isinstance(layer, dict)]


def pin_image(
    *,
    settings: Settings,
    namespace: Namespace,
    image: str,
    root_images: RootPolicy,
) -> PinnedImage:
    """Resolve, check and pin a pushed image for a team.

    Raises
    ------
    DomainError
        403 outside the team's namespace, 422 for an unknown tag or an
        unacceptable image, 413 over the size limit, 503 when the registry is
        down; 404 when this Podium has no registry.
    """
    registry_service.require_enabled(settings)
    ref = parse_reference(image)
    host = settings.registry_address
    prefix = team_prefix(namespace.challenge_slug, namespace.team_slug)
    if ref.host is not None and ref.host != host:
        raise DomainError(
            f"{ref.host} is not Podium's registry: push the image to {host}/{prefix}<image> "
            "first, then submit that reference",
            422,
        )
    if not ref.repository.startswith(prefix):
        raise ForbiddenError(
            f"{ref.repository} is outside your team's namespace: submit an image under "
            f"{host}/{prefix}"
        )
    shown = f"{host}/{ref.repository}:{ref.tag or 'latest'}"
    if ref.digest:
        shown = f"{host}/{ref.repository}@{ref.digest}"
    target = pinned_repository(namespace.challenge_slug, namespace.team_slug)
    try:
        with registry_service.client(settings) as registry:
            manifest = _image_manifest(registry, ref, shown)
            config, layers = _blobs(manifest)
            size = int(config.get("size") or 0) + sum(int(x.get("size") or 0) for x in layers)
            limit = image_size_limit(settings)
            if size > limit:
                raise DomainError(
                    f"{shown} is {human_bytes(size)} compressed, over this phase's limit of "
                    f"{human_bytes(limit)}; make the image smaller (e.g. drop build caches and "
                    "unused weights)",
                    413,
                )
            raw_config = registry.get_blob(ref.repository, str(config.get("digest")))
            try:
                parsed = json.loads(raw_config)
            except ValueError as exc:
                raise refuse("the image config is not JSON") from exc
            run = check_image_config(parsed, root_images=root_images)
            for blob in (config, *layers):
                registry.mount_blob(
                    target=target, source=ref.repository, digest=str(blob["digest"])
                )
            registry.put_manifest(target, pinned_tag(manifest.digest), manifest)
    except RegistryUnavailable as exc:
        raise registry_service.unavailable(exc) from exc
    except RegistryRefused as exc:
        raise DomainError(f"{shown} could not be read from the registry: {exc}", 422) from exc
    return PinnedImage(
        submitted=shown,
        manifest_digest=manifest.digest,
        config_digest=str(config["digest"]),
        reference=f"{target}@{manifest.digest}",
        size_bytes=size,
        run=run,
    )
