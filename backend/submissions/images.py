"""The image a submission runs: one notion for the API, the worker and the cache.

A submission holds exactly one image source (a database constraint says so):
an uploaded ``docker save`` tarball, or a pushed image that Podium pinned by
its manifest digest in a repository only Podium can write. The worker reads
:func:`image_to_run` and nothing else.

Identity on both Docker image stores: the classic overlay2 store names an image
by its config digest, the containerd store by its manifest digest. A pushed
image is therefore keyed and checked by the manifest digest it was pinned with
(what ``RepoDigests`` shows after a pull by digest, on either store), a tarball
by its config digest (the only digest the tarball carries).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from backend.submissions.models import Submission


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageToRun:
    """What to run for a submission.

    Attributes
    ----------
    config_digest
        ``sha256:`` of the image's config (its ID on the classic store).
    tarball_key
        The tarball's storage key, for an uploaded image.
    tarball_sha256
        Its sha256 as uploaded (the worker checks the stored file against it).
    reference
        ``<repository>@<manifest digest>`` in Podium's registry, for a pushed image.
    manifest_digest
        The pinned manifest digest, for a pushed image.
    """

    config_digest: str
    tarball_key: str | None = None
    tarball_sha256: str | None = None
    reference: str | None = None
    manifest_digest: str | None = None

    def __post_init__(self) -> None:
        if (self.tarball_key is None) == (self.reference is None):
            raise ValueError("an image to run has exactly one source: a tarball or a reference")
        if self.reference is not None and self.manifest_digest is None:
            raise ValueError("a registry image is pinned by its manifest digest")

    @property
    def source(self) -> Literal["tarball", "registry"]:
        """Where the worker gets it from."""
        return "registry" if self.reference is not None else "tarball"

    @property
    def cache_key(self) -> str:
        """The digest that names this image in a worker's cache on any image store.

        Examples
        --------
        >>> ImageToRun(config_digest="sha256:c", reference="t/a@sha256:m",
        ...            manifest_digest="sha256:m").cache_key
        'sha256:m'
        >>> ImageToRun(config_digest="sha256:c", tarball_key="s/1.tar").cache_key
        'sha256:c'
        """
        if self.reference is not None and self.manifest_digest is not None:
            return self.manifest_digest
        return self.config_digest

    @property
    def repository(self) -> str | None:
        """The registry repository of a pushed image."""
        return None if self.reference is None else self.reference.split("@", 1)[0]


def image_to_run(submission: Submission) -> ImageToRun:
    """The image ``submission`` runs."""
    if submission.image_reference is not None:
        return ImageToRun(
            config_digest=submission.image_digest,
            reference=submission.image_reference,
            manifest_digest=submission.manifest_digest,
        )
    return ImageToRun(
        config_digest=submission.image_digest,
        tarball_key=submission.tarball_path,
        tarball_sha256=submission.tarball_sha256,
    )
