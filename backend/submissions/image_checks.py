"""The checks every submitted image passes, whether uploaded as a tarball or pushed.

Both paths read the image's config (the JSON ``docker inspect`` shows under
``Config``) and hand it to :func:`check_image_config`; one rule, one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.challenges.contract import RootPolicy
from backend.errors import DomainError

#: The rule where nothing says otherwise (a phase's ``container.root_images`` does).
DEFAULT_ROOT_POLICY: RootPolicy = "refuse"

_ROOT_USERS = {"", "root", "0"}


@dataclass(frozen=True, slots=True)
class RunConfig:
    """What the image's config says about running it."""

    architecture: str
    os: str
    user: str
    entrypoint: list[str]
    cmd: list[str]


def refuse(message: str) -> DomainError:
    """The 422 every unacceptable image gets."""
    return DomainError(f"not an acceptable image: {message}", 422)


def string_list(value: Any) -> list[str]:
    """An ENTRYPOINT/CMD value (string, list or null) as a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def is_root_user(user: str) -> bool:
    """Whether a Dockerfile ``USER`` value runs as root (uid 0 or name root).

    Examples
    --------
    >>> is_root_user(""), is_root_user("0:0"), is_root_user("1000"), is_root_user("root:app")
    (True, True, False, True)
    """
    name = user.split(":", 1)[0].strip()
    return name in _ROOT_USERS


def check_root(user: str, *, root_images: RootPolicy) -> None:
    """Apply a phase's root policy to the image's ``USER``.

    ``refuse`` turns a root image away at submission; ``run_unprivileged``
    accepts it (the worker then runs it as an unprivileged uid).

    Examples
    --------
    >>> check_root("", root_images="run_unprivileged")
    >>> check_root("", root_images="refuse")
    Traceback (most recent call last):
    ...
    backend.errors.DomainError: not an acceptable image: the image runs as root (USER unset); ...
    """
    if root_images == "refuse" and is_root_user(user):
        raise refuse(
            f"the image runs as root (USER {user or 'unset'}); add a user in the Dockerfile, "
            "e.g. `RUN useradd -m -u 1000 runner` then `USER runner`"
        )


def check_image_config(config: Any, *, root_images: RootPolicy) -> RunConfig:
    """Check that an image config is linux/amd64, has something to run and a fitting user.

    Raises
    ------
    DomainError
        422 saying what is wrong and how to fix it.
    """
    if not isinstance(config, dict):
        raise refuse("the image config is not a JSON object")
    architecture = str(config.get("architecture", ""))
    os_name = str(config.get("os", ""))
    if os_name != "linux" or architecture != "amd64":
        raise refuse(
            f"the image is {os_name or '?'}/{architecture or '?'}; we run linux/amd64. "
            "Rebuild with `docker build --platform linux/amd64 ...`"
        )
    run = config.get("config") or {}
    if not isinstance(run, dict):
        raise refuse("the image config's run section is not a JSON object")
    entrypoint = string_list(run.get("Entrypoint"))
    cmd = string_list(run.get("Cmd"))
    if not entrypoint and not cmd:
        raise refuse(
            "the image has neither ENTRYPOINT nor CMD, so we would not know what to run; "
            'add e.g. `ENTRYPOINT ["python", "/app/predict.py"]` to the Dockerfile'
        )
    user = str(run.get("User") or "")
    check_root(user, root_images=root_images)
    return RunConfig(
        architecture=architecture, os=os_name, user=user, entrypoint=entrypoint, cmd=cmd
    )
