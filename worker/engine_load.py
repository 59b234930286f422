"""Tarballs into the engine: the one way an uploaded image is loaded, on either image store.

:func:`load_accepted` serves the worker's image cache and the runner alike, on
the classic store (image ID = config digest) and the containerd store (image
ID = manifest digest). The load is streamed like a pull
(:mod:`worker.engine_images`: no total time limit, only a stall limit), the
file hashed on the way against the sha256 recorded at upload. A failure is
ours (:class:`~worker.runner.base.InfrastructureError`), except a file the
engine cannot load although it is exactly the one the team uploaded: that is
the team's (``image_invalid``).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import docker.errors

from backend.challenges.contract import RootPolicy
from worker.engine_images import TRANSPORT_ERRORS, EngineMessageError, engine_messages
from worker.runner.base import InfrastructureError, SubmissionFailure
from worker.runner.imagestore import ImageStore as EngineStore
from worker.runner.imagestore import check_tarball_is, tarball_layers


class HashingReader:
    """A file read once, front to back, hashing what it hands out (the upload body)."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream = stream
        self._size = size
        self.sha256 = hashlib.sha256()
        self.sent = 0

    def __len__(self) -> int:
        return self._size

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(1024 * 1024 if size is None or size < 0 else size)
        self.sha256.update(data)
        self.sent += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(1024 * 1024):
            yield chunk


def load(client: Any, tarball: Path, *, expected_sha256: str | None, stall_s: float) -> list[str]:
    """``docker load`` a tarball, checking on the way that it is the stored file.

    Returns the references the engine reports (``sha256:…`` image IDs or names).

    Raises
    ------
    ~worker.runner.base.SubmissionFailure
        The engine cannot load the file, and the file is the one the team
        uploaded (or no sha256 was recorded to say otherwise): ``image_invalid``.
    InfrastructureError
        The engine failed, or the file's sha256 is not the one recorded at
        upload (anything it loaded is removed again).
    """
    api = client.api
    doing = f"loading {tarball.name}"
    loaded: list[str] = []
    refused: EngineMessageError | None = None
    with tarball.open("rb") as stream:
        body = HashingReader(stream, tarball.stat().st_size)
        try:
            response = api._post(
                api._url("/images/load"),
                data=body,
                params={"quiet": False},
                headers={"Content-Type": "application/x-tar"},
                stream=True,
                timeout=(stall_s, stall_s),
            )
        except TRANSPORT_ERRORS as exc:
            raise InfrastructureError(f"the engine failed while {doing}: {exc}") from exc
        try:
            for message in engine_messages(api, response, doing):
                text = str(message.get("stream") or "")
                for prefix in ("Loaded image ID: ", "Loaded image: "):
                    if text.startswith(prefix):
                        loaded.append(text[len(prefix) :].strip())
        except EngineMessageError as exc:
            refused = exc
        for _ in body:  # what the engine did not read: the file's hash needs all of it
            pass
    if expected_sha256 is not None and body.sha256.hexdigest() != expected_sha256:
        _remove(client, loaded)
        raise InfrastructureError(
            f"the stored tarball {tarball.name} is not the file that was uploaded (sha256 "
            f"{body.sha256.hexdigest()[:16]}…, expected {expected_sha256[:16]}…): it was "
            "altered or corrupted"
        )
    if refused is not None:
        _remove(client, loaded)
        if any(marker in refused.detail.lower() for marker in _ENGINE_TROUBLE):
            raise refused
        # The very file the team uploaded, and the engine cannot load it.
        raise SubmissionFailure(
            "image_invalid",
            f"The uploaded file is not a loadable `docker save` image: {refused.detail}",
        ) from refused
    if not loaded:
        raise InfrastructureError(f"the engine loaded nothing from {tarball.name}")
    return loaded


#: Load errors that are the engine's or the host's trouble, whatever the file holds.
_ENGINE_TROUBLE = (
    "no space left",
    "input/output error",
    "read-only file system",
    "too many open files",
    "cannot allocate memory",
    "context canceled",
    "connection",
)


def _remove(client: Any, references: list[str]) -> None:
    for reference in references:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(reference, noprune=False)


@dataclass(frozen=True, slots=True)
class LoadedImage:
    """The accepted image of a tarball, in the engine.

    Attributes
    ----------
    image_id
        The engine's ID of it: the config digest on the classic store, a
        manifest digest on the containerd store.
    added
        Whether this load brought it in (else the engine had it already, and
        it is not this worker's to remove).
    """

    image_id: str
    added: bool


def find_accepted(client: Any, expected_id: str, *, store: EngineStore) -> str | None:
    """The engine's ID of the image whose config digest is ``expected_id``, if it can say.

    Only the classic store names images by their config digest (the ID the
    API recorded): there the engine's own lookup proves the image is the
    accepted one. The containerd store cannot be asked, so ``None``.
    """
    if store.containerd():
        return None
    try:
        return str(client.api.inspect_image(expected_id)["Id"])
    except docker.errors.ImageNotFound:
        return None
    except TRANSPORT_ERRORS as exc:
        raise InfrastructureError(
            f"the engine failed while inspecting {expected_id}: {exc}"
        ) from exc


def load_accepted(
    client: Any,
    tarball: Path,
    *,
    expected_id: str,
    expected_sha256: str | None,
    stall_s: float,
    store: EngineStore,
    root_images: RootPolicy = "refuse",
) -> LoadedImage:
    """The accepted image of ``tarball`` in the engine, loaded unless it is there already.

    The one way a tarball enters an engine, on either image store:

    * classic store: the engine names the image by its config digest, so an
      image found under ``expected_id`` is that image (not loaded again), and
      a load must produce that ID;
    * containerd store: the engine names it by a manifest digest it makes, so
      the load must produce exactly one image, and what proves it is the
      accepted one is the file itself: its sha256 against the one recorded at
      upload, or, where none was recorded, its config digest read again
      (:func:`worker.runner.imagestore.check_tarball_is`).

    Whatever this load added is removed again when the check fails.

    Raises
    ------
    ~worker.runner.base.SubmissionFailure
        The team's file cannot be loaded (``image_invalid``).
    InfrastructureError
        The engine failed, or the stored file is not the accepted image.
    """
    found = find_accepted(client, expected_id, store=store)
    if found is not None:
        return LoadedImage(image_id=found, added=False)
    containerd = store.containerd()
    before = _image_ids(client) if containerd else set()
    try:
        names = load(client, tarball, expected_sha256=expected_sha256, stall_s=stall_s)
    except (SubmissionFailure, InfrastructureError):
        if containerd:
            _remove_half_loaded(client, tarball, before=before)
        raise
    try:
        ids = {_image_id(client, name) for name in names}
        if containerd and expected_sha256 is None:
            check_tarball_is(tarball, expected_id=expected_id, root_images=root_images)
        if containerd:
            wanted = next(iter(ids)) if len(ids) == 1 else None
        else:
            wanted = expected_id if expected_id in ids else None
        if wanted is None:
            raise InfrastructureError(
                f"the stored tarball holds {sorted(ids)}, not the accepted image "
                f"{expected_id}: the stored file was altered or corrupted"
            )
    except InfrastructureError:
        _remove(client, [n for n in names if n not in before])
        raise
    return LoadedImage(image_id=wanted, added=wanted not in before)


def _remove_half_loaded(client: Any, tarball: Path, *, before: set[str]) -> None:
    """Remove the image a failed load left in the containerd store.

    That store records the image before it unpacks the layers, and reports
    nothing when unpacking fails. An image that appeared meanwhile is this
    load's when its layers are the tarball's (other workers on the engine may
    be loading other images at the same time).
    """
    try:
        new = _image_ids(client) - before
    except InfrastructureError:
        return
    layers = tarball_layers(tarball) if new else None
    if not layers:
        return
    for image_id in new:
        with contextlib.suppress(*TRANSPORT_ERRORS):
            rootfs = client.api.inspect_image(image_id).get("RootFS") or {}
            if tuple(rootfs.get("Layers") or ()) == layers:
                client.api.remove_image(image_id, noprune=False)


def _image_ids(client: Any) -> set[str]:
    try:
        return {str(image["Id"]) for image in client.api.images(all=True)}
    except TRANSPORT_ERRORS as exc:
        raise InfrastructureError(f"the engine failed while listing images: {exc}") from exc


def _image_id(client: Any, reference: str) -> str:
    try:
        return str(client.api.inspect_image(reference)["Id"])
    except TRANSPORT_ERRORS as exc:
        raise InfrastructureError(f"the engine failed while inspecting {reference}: {exc}") from exc
