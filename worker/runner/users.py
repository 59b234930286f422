"""Which user a submission's container runs as, and what a team is told about it.

An image's ``USER`` is resolved against its own ``/etc/passwd`` and
``/etc/group`` to a numeric ``uid:gid`` (the engine would do the same; a
numeric user is what the ``/output`` tmpfs is given to). An image that
declares root (no ``USER``, ``root`` or ``0``) is refused, unless the phase's
run contract says ``root_images: run_unprivileged``: it then runs as
:func:`unprivileged_user`, a uid:gid that is no account and no group of the
image (so not group 0 and nothing the image's files grant access to), with
``HOME=/tmp``; everything else in the sandbox is unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from backend.challenges.contract import RootPolicy
from backend.submissions.image_checks import is_root_user
from worker.runner.base import SubmissionFailure

#: The first uid (and gid) tried for an image that declares root.
UNPRIVILEGED_BASE = 20000

#: What a program prints when the file system says no.
_PERMISSION_ERRORS = re.compile(
    r"Permission denied|PermissionError|EACCES|Operation not permitted|EPERM"
    r"|Read-only file system|EROFS",
)


@dataclass(frozen=True, slots=True)
class RunUser:
    """The numeric ``uid:gid`` a container runs as, and whether it replaces root."""

    user: str
    unprivileged: bool


def _ids(text: str, column: int) -> set[int]:
    ids = set()
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) > column and fields[column].isdigit():
            ids.add(int(fields[column]))
    return ids


def unprivileged_user(files: Mapping[str, str]) -> str:
    """A ``uid:gid`` that is neither a user nor a group of the image.

    Examples
    --------
    >>> unprivileged_user({"passwd": "root:x:0:0::/root:/bin/sh\\n", "group": "root:x:0:\\n"})
    '20000:20000'
    >>> unprivileged_user({"passwd": "a:x:20000:5::/:/bin/sh\\n", "group": "b:x:20001:\\n"})
    '20002:20002'
    """
    taken = (
        _ids(files.get("passwd", ""), 2)
        | _ids(files.get("passwd", ""), 3)
        | _ids(files.get("group", ""), 2)
    )
    uid = UNPRIVILEGED_BASE
    while uid in taken:
        uid += 1
    return f"{uid}:{uid}"


def passwd_lookup(files: Mapping[str, str], user: str) -> str:
    """Resolve ``name[:group]`` against the image's passwd/group files to ``uid:gid``.

    Raises
    ------
    SubmissionFailure
        The user or group is not in the image, or resolves to uid 0.
    """
    name, _, group = user.partition(":")
    uid = gid = None
    for line in files.get("passwd", "").splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and name in {fields[0], fields[2]}:
            uid, gid = fields[2], fields[3]
            break
    if uid is None:
        if not name.isdigit():
            raise SubmissionFailure(
                "image_user",
                f"The image's USER {user!r} is not in its /etc/passwd. Use a numeric "
                "user, e.g. `USER 1000:1000`.",
            )
        uid, gid = name, name
    if group:
        gid = group if group.isdigit() else None
        for line in files.get("group", "").splitlines():
            fields = line.split(":")
            if len(fields) >= 3 and fields[0] == group:
                gid = fields[2]
        if gid is None:
            raise SubmissionFailure(
                "image_user", f"The image's USER group {group!r} is not in its /etc/group."
            )
    if uid == "0":
        raise SubmissionFailure(
            "image_user", f"The image's USER {user!r} is root (uid 0); use a non-root user."
        )
    return f"{uid}:{gid}"


def needs_account_files(user: str, policy: RootPolicy) -> bool:
    """Whether resolving ``user`` needs the image's passwd/group files."""
    if is_root_user(user):
        return policy == "run_unprivileged"
    name, _, group = user.partition(":")
    return not (name.isdigit() and group.isdigit())


def run_user(user: str, *, policy: RootPolicy, files: Mapping[str, str]) -> RunUser:
    """The user a container of an image declaring ``user`` runs as under ``policy``.

    ``files`` holds the image's ``passwd`` and ``group`` when
    :func:`needs_account_files` says so (else it may be empty).

    Raises
    ------
    SubmissionFailure
        The image declares root and the phase refuses root images, or its user
        cannot be resolved.
    """
    if is_root_user(user):
        if policy == "run_unprivileged":
            return RunUser(unprivileged_user(files), unprivileged=True)
        raise SubmissionFailure(
            "image_user",
            "The image runs as root. Add a non-root user to the Dockerfile, e.g. "
            "`RUN useradd -u 1000 app` and `USER 1000:1000`.",
        )
    name, _, group = user.partition(":")
    if name.isdigit() and group.isdigit():
        if name == "0":
            raise SubmissionFailure(
                "image_user", f"The image's USER {user!r} is root (uid 0); use a non-root user."
            )
        return RunUser(f"{name}:{group}", unprivileged=False)
    return RunUser(passwd_lookup(files, user), unprivileged=False)


def explain_unprivileged(failure: SubmissionFailure, *, user: str, log: str) -> None:
    """Tell a team whose root image failed on a permission error why, and what to do.

    Examples
    --------
    >>> failure = SubmissionFailure("nonzero_exit", "The container exited with code 1.")
    >>> explain_unprivileged(failure, user="20000:20000", log="PermissionError: [Errno 13]")
    >>> "as an unprivileged user (uid:gid 20000:20000" in failure.message
    True
    """
    if failure.kind != "nonzero_exit" or not _PERMISSION_ERRORS.search(log):
        return
    failure.message += (
        f" Your image declares root, and this phase runs such images as an unprivileged "
        f"user (uid:gid {user}, HOME=/tmp) on a read-only file system; the log shows a "
        "permission error. Write only to /output (your predictions) and /tmp (scratch; "
        "also point caches there, e.g. HOME, XDG_CACHE_HOME, TORCH_HOME, MPLCONFIGDIR), "
        "read your model files from the image, and do not change users or file owners. "
        "Test locally with `docker run --user 20000:20000 --read-only --tmpfs /tmp ...`."
    )
