"""Podium's own calls to the registry's HTTP API (distribution v2), with tokens it mints itself.

Used at submission time (resolve a tag, read the manifest and config, copy the
image into Podium's namespace) and to list a team's repositories. Every
transport failure or 5xx is :class:`RegistryUnavailable`, which the API answers
with 503 before any quota is spent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from backend.registry.keys import SigningKey
from backend.registry.tokens import Access, mint

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE_MANIFESTS = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
MANIFEST_LISTS = frozenset({DOCKER_LIST, OCI_INDEX})
_ACCEPT = ", ".join((DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX))
#: A manifest or config larger than this is not an image we would run.
MAX_DOCUMENT = 4 * 1024 * 1024
#: Podium's own subject in the tokens it mints for itself.
PODIUM_SUBJECT = "podium"


class RegistryUnavailable(Exception):  # noqa: N818 - reads as the condition it names
    """The registry did not answer, or answered with a server error."""


class RegistryRefused(Exception):  # noqa: N818 - reads as the condition it names
    """The registry refused a request Podium expected to succeed (a 4xx other than 404)."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest as stored: its exact bytes (what its digest hashes), type and parsed body."""

    digest: str
    media_type: str
    raw: bytes
    body: dict[str, Any]


def sha256_digest(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RegistryClient:
    """A small synchronous client for Podium's registry.

    Parameters
    ----------
    base_url
        The registry's API address, e.g. ``http://127.0.0.1:5000``.
    key
        Podium's signing key; each call carries a token scoped to what it does.
    issuer, service
        What the registry checks in the token.
    timeout_s
        Per-operation network timeout (these are small documents, never layers).
    """

    def __init__(
        self,
        *,
        base_url: str,
        key: SigningKey,
        issuer: str,
        service: str,
        timeout_s: float = 30.0,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._key = key
        self._issuer = issuer
        self._service = service
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=True)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------
    def _headers(self, access: Iterable[Access], **extra: str) -> dict[str, str]:
        token, _ = mint(
            self._key,
            issuer=self._issuer,
            service=self._service,
            subject=PODIUM_SUBJECT,
            access=access,
            ttl_s=120,
        )
        return {"Authorization": f"Bearer {token}", **extra}

    @contextmanager
    def _call(self, doing: str) -> Iterator[None]:
        try:
            yield
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(f"the registry did not answer while {doing}: {exc}") from exc

    def _check(self, response: httpx.Response, doing: str) -> None:
        if response.status_code >= 500:
            raise RegistryUnavailable(
                f"the registry failed while {doing} (HTTP {response.status_code})"
            )
        if response.status_code >= 400 and response.status_code != 404:
            raise RegistryRefused(
                f"the registry refused {doing} (HTTP {response.status_code}): {response.text[:300]}"
            )

    # -- reading ----------------------------------------------------------------
    def ping(self) -> None:
        """Raise :class:`RegistryUnavailable` unless the registry answers ``/v2/``."""
        with self._call("answering /v2/"):
            response = self._client.get(f"{self._base}/v2/", headers=self._headers([]))
        self._check(response, "answering /v2/")

    def get_manifest(self, repository: str, reference: str) -> Manifest | None:
        """The manifest (or list) for a tag or digest; ``None`` when there is none."""
        doing = f"reading the manifest {repository}:{reference}"
        pull = [Access("repository", repository, ("pull",))]
        with self._call(doing):
            response = self._client.get(
                f"{self._base}/v2/{repository}/manifests/{reference}",
                headers=self._headers(pull, Accept=_ACCEPT),
            )
            self._check(response, doing)
            if response.status_code == 404:
                return None
            raw = response.read()
        if len(raw) > MAX_DOCUMENT:
            raise RegistryRefused(f"the manifest of {repository}:{reference} is too large")
        digest = sha256_digest(raw)
        if reference.startswith("sha256:") and digest != reference:
            raise RegistryUnavailable(
                f"the registry returned content for {reference} that hashes to {digest}"
            )
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise RegistryRefused(f"the manifest of {repository}:{reference} is not JSON") from exc
        media_type = str(body.get("mediaType") or response.headers.get("content-type", ""))
        media_type = media_type.split(";", maxsplit=1)[0].strip()
        return Manifest(digest=digest, media_type=media_type, raw=raw, body=body)

    def get_blob(self, repository: str, digest: str, *, max_bytes: int = MAX_DOCUMENT) -> bytes:
        """A small blob (an image config), checked against its digest."""
        doing = f"reading the blob {digest[:19]} of {repository}"
        pull = [Access("repository", repository, ("pull",))]
        with (
            self._call(doing),
            self._client.stream(
                "GET", f"{self._base}/v2/{repository}/blobs/{digest}", headers=self._headers(pull)
            ) as response,
        ):
            self._check(response, doing)
            if response.status_code == 404:
                raise RegistryRefused(f"the blob {digest} of {repository} is missing")
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    raise RegistryRefused(f"the blob {digest} is larger than {max_bytes} bytes")
        if sha256_digest(bytes(data)) != digest:
            raise RegistryUnavailable(f"the registry returned a blob that is not {digest}")
        return bytes(data)

    def catalog(self, *, page: int = 1000) -> list[str]:
        """Every repository name (paged through ``/v2/_catalog``)."""
        names: list[str] = []
        last = ""
        scope = [Access("registry", "catalog", ("*",))]
        while True:
            params = {"n": str(page), **({"last": last} if last else {})}
            with self._call("listing repositories"):
                response = self._client.get(
                    f"{self._base}/v2/_catalog", params=params, headers=self._headers(scope)
                )
            self._check(response, "listing repositories")
            batch = list(response.json().get("repositories") or [])
            names += batch
            if len(batch) < page or "next" not in response.headers.get("link", ""):
                return names
            last = batch[-1]

    def tags(self, repository: str) -> list[str]:
        """The tags of a repository (empty when it has none or does not exist)."""
        doing = f"listing the tags of {repository}"
        pull = [Access("repository", repository, ("pull",))]
        with self._call(doing):
            response = self._client.get(
                f"{self._base}/v2/{repository}/tags/list", headers=self._headers(pull)
            )
        self._check(response, doing)
        if response.status_code == 404:
            return []
        return sorted(response.json().get("tags") or [])

    # -- writing ----------------------------------------------------------------
    def mount_blob(self, *, target: str, source: str, digest: str) -> None:
        """Link a blob of ``source`` into ``target`` without copying its bytes."""
        doing = f"mounting {digest[:19]} from {source} into {target}"
        access = [
            Access("repository", target, ("pull", "push")),
            Access("repository", source, ("pull",)),
        ]
        with self._call(doing):
            response = self._client.post(
                f"{self._base}/v2/{target}/blobs/uploads/",
                params={"mount": digest, "from": source},
                headers=self._headers(access, **{"Content-Length": "0"}),
            )
            if response.status_code == 202:
                # The registry started an upload instead: the source lacks the blob.
                location = response.headers.get("location", "")
                if location:
                    self._client.delete(
                        httpx.URL(self._base).join(location), headers=self._headers(access)
                    )
                raise RegistryRefused(f"the blob {digest} is not in {source}")
        self._check(response, doing)
        if response.status_code != 201:
            raise RegistryRefused(f"{doing}: HTTP {response.status_code}")

    def put_manifest(self, repository: str, tag: str, manifest: Manifest) -> str:
        """Store ``manifest``'s exact bytes under ``tag``; returns the digest it got."""
        doing = f"tagging {repository}:{tag}"
        access = [Access("repository", repository, ("pull", "push"))]
        with self._call(doing):
            response = self._client.put(
                f"{self._base}/v2/{repository}/manifests/{tag}",
                content=manifest.raw,
                headers=self._headers(access, **{"Content-Type": manifest.media_type}),
            )
        self._check(response, doing)
        if response.status_code == 404:
            raise RegistryRefused(f"{doing}: the registry lacks a blob of the manifest")
        digest = str(response.headers.get("docker-content-digest", manifest.digest))
        if digest != manifest.digest:
            raise RegistryUnavailable(f"{doing}: stored as {digest}, not {manifest.digest}")
        return digest

    def delete_manifest(self, repository: str, digest: str) -> bool:
        """Delete a manifest (and with it every tag pointing at it); ``False`` if absent."""
        doing = f"deleting {repository}@{digest[:19]}"
        access = [Access("repository", repository, ("delete",))]
        with self._call(doing):
            response = self._client.delete(
                f"{self._base}/v2/{repository}/manifests/{digest}", headers=self._headers(access)
            )
        self._check(response, doing)
        return response.status_code != 404
