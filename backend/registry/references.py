"""Image references as teams write them: ``[host[:port]/]repository[:tag][@sha256:digest]``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from backend.errors import DomainError
from backend.registry.tokens import is_repository_name

_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A parsed reference; ``digest`` wins over ``tag`` when both are given."""

    host: str | None
    repository: str
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        """What to ask the registry's manifest endpoint for."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        name = f"{self.host}/{self.repository}" if self.host else self.repository
        if self.digest:
            return f"{name}@{self.digest}"
        return f"{name}:{self.tag or 'latest'}"


def _looks_like_host(component: str) -> bool:
    # Docker's own rule: a first component with a dot or a port, or localhost, is a host.
    return "." in component or ":" in component or component == "localhost"


def parse_reference(text: str) -> ImageReference:
    """Parse ``text`` or refuse it (422) saying what a reference looks like.

    Examples
    --------
    >>> parse_reference("127.0.0.1:5000/trials/a/model:v2")
    ImageReference(host='127.0.0.1:5000', repository='trials/a/model', tag='v2', digest=None)
    >>> ref = parse_reference("trials/a/model@sha256:" + "ab" * 32)
    >>> ref.host, ref.tag, ref.digest[:10]
    (None, None, 'sha256:aba')
    >>> str(parse_reference("registry.example.org/trials/a/m"))
    'registry.example.org/trials/a/m:latest'
    """
    value = text.strip()
    example = (
        "write it as REGISTRY/CHALLENGE/TEAM/NAME:TAG or REGISTRY/CHALLENGE/TEAM/NAME@sha256:…"
    )
    if not value or len(value) > 600 or any(c.isspace() for c in value):
        raise DomainError(f"{text!r} is not an image reference; {example}", 422)
    digest = None
    if "@" in value:
        value, digest = value.rsplit("@", 1)
        if not _DIGEST.match(digest):
            raise DomainError(
                f"{digest!r} is not a sha256 digest (sha256: and 64 lower-case hex digits)", 422
            )
    tag = None
    last_slash = value.rfind("/")
    colon = value.rfind(":")
    if colon > last_slash:
        value, tag = value[:colon], value[colon + 1 :]
        if not _TAG.match(tag):
            raise DomainError(f"{tag!r} is not a valid tag", 422)
    host = None
    first, _, rest = value.partition("/")
    if rest and _looks_like_host(first):
        host, value = first, rest
    if not is_repository_name(value):
        raise DomainError(
            f"{value!r} is not a valid repository name (lower-case letters, digits and "
            f"separators . _ -, components joined by /); {example}",
            422,
        )
    return ImageReference(host=host, repository=value, tag=tag, digest=digest)
