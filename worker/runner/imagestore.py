"""What an image's ID means on the engine's image store, and recognising the accepted image.

The API names a tarball's image by the digest of its config (the image ID of
Docker's classic store, :func:`backend.submissions.image_archive.inspect_image_archive`).
The two image stores a worker may run on name images differently:

* the classic store (graph drivers such as overlay2, Docker < 29's default):
  the image ID *is* the config digest, so the engine itself proves that what it
  loaded is the accepted image;
* the containerd image store (``"features": {"containerd-snapshotter": true}``,
  Docker 29's default on new installs): the image ID is the digest of the
  manifest the engine keeps, which a ``docker save`` tarball does not always
  carry, and the engine finds no image by its config digest.

On the containerd store the tarball is therefore checked here once loaded (its
config digest must be the accepted one, the same parse the API made, and it
must have given exactly one image); the engine verifies every layer against
the config's ``diff_ids`` while it loads, so the one image it reports is the
accepted image, under its own ID.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from backend.challenges.contract import RootPolicy
from backend.errors import DomainError
from backend.submissions.image_archive import inspect_image_archive
from worker.runner.base import InfrastructureError

#: ``docker info``'s DriverStatus entry of an engine on the containerd image store.
_CONTAINERD_SNAPSHOTTER = ("driver-type", "io.containerd.snapshotter.v1")


class ImageStore:
    """Which image store an engine keeps its images in (asked once, then cached).

    Parameters
    ----------
    engine_info
        Returns the engine's ``info()``.

    Examples
    --------
    >>> ImageStore(lambda: {"Driver": "overlay2", "DriverStatus": []}).containerd()
    False
    >>> info = {"Driver": "overlayfs",
    ...         "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]]}
    >>> ImageStore(lambda: info).containerd()
    True
    """

    def __init__(self, engine_info: Callable[[], Mapping[str, Any]]) -> None:
        self._engine_info = engine_info
        self._containerd: bool | None = None
        self._lock = threading.Lock()

    def containerd(self) -> bool:
        """Whether image IDs are manifest digests (the containerd image store)."""
        with self._lock:
            if self._containerd is None:
                status = self._engine_info().get("DriverStatus") or []
                self._containerd = any(tuple(entry) == _CONTAINERD_SNAPSHOTTER for entry in status)
            return self._containerd


def check_tarball_is(tarball: Path, *, expected_id: str, root_images: RootPolicy) -> None:
    """Refuse a stored tarball that is not (or no longer) the accepted image.

    Raises
    ------
    InfrastructureError
        The stored file holds another image or is no longer a valid one: it
        was altered or corrupted after the API accepted it (our fault).
    """
    try:
        digest = inspect_image_archive(tarball, root_images=root_images).digest
    except DomainError as exc:
        raise InfrastructureError(
            f"the stored tarball is no longer the accepted image {expected_id} "
            f"({exc.message}): the stored file was altered or corrupted"
        ) from exc
    if digest != expected_id:
        raise InfrastructureError(
            f"the stored tarball holds {digest}, not the accepted image {expected_id}: "
            "the stored file was altered or corrupted"
        )


def tarball_layers(tarball: Path) -> tuple[str, ...] | None:
    """The layer diff IDs a ``docker save`` tarball's config names (``None``: unreadable).

    What an image a failed load left behind in the containerd store is
    recognised by (its ``RootFS.Layers``): that store does not report it.
    """
    try:
        return inspect_image_archive(tarball, root_images="run_unprivileged").diff_ids
    except DomainError:
        return None
