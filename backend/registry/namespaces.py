"""Who owns which repository: the one place that knows the registry's layout.

* ``<challenge>/<team slug>/<name>`` (and deeper): the team's own images; its
  members push, pull and delete there.
* ``<challenge>/<team slug>`` itself: Podium's copies of the team's submitted
  images, one tag per pinned manifest digest (:func:`pinned_tag`). No team may
  write it, so deleting or overwriting a tag, and garbage collection, leave a
  submitted image in place.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.registry.tokens import is_repository_name


@dataclass(frozen=True, slots=True)
class RepositoryPath:
    """A repository name split into challenge slug, team slug and the image's own name."""

    challenge: str
    team: str | None
    image: str | None


def split_repository(name: str) -> RepositoryPath:
    """Split a repository name.

    Examples
    --------
    >>> split_repository("trials/hepatica/nnunet/v2")
    RepositoryPath(challenge='trials', team='hepatica', image='nnunet/v2')
    >>> split_repository("trials/hepatica")
    RepositoryPath(challenge='trials', team='hepatica', image=None)
    """
    parts = name.split("/", 2)
    return RepositoryPath(
        challenge=parts[0],
        team=parts[1] if len(parts) > 1 else None,
        image=parts[2] if len(parts) > 2 else None,
    )


def team_prefix(challenge_slug: str, team_slug: str) -> str:
    """Where a team's images go, with the trailing slash: ``trials/hepatica/``."""
    return f"{challenge_slug}/{team_slug}/"


def pinned_repository(challenge_slug: str, team_slug: str) -> str:
    """Podium's repository of a team's submitted images."""
    return f"{challenge_slug}/{team_slug}"


def pinned_tag(manifest_digest: str) -> str:
    """The tag a submitted manifest keeps in :func:`pinned_repository`.

    Examples
    --------
    >>> pinned_tag("sha256:" + "a" * 64) == "sha256-" + "a" * 64
    True
    """
    return manifest_digest.replace(":", "-", 1)


def registry_ready_slug(challenge_slug: str) -> bool:
    """Whether a challenge slug can start a repository name (``_`` and ``-`` rules).

    Examples
    --------
    >>> registry_ready_slug("trials"), registry_ready_slug("trials-"), registry_ready_slug("a__b")
    (True, False, True)
    """
    return is_repository_name(challenge_slug)
