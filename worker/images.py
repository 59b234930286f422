"""The image a run needs, from the worker's cache, the registry or the stored tarball.

* A pushed image is pulled **by its pinned manifest digest** from Podium's
  repository of submitted images, with a pull token the worker mints itself
  (:func:`pull_token`): no team's secret, scoped to that one repository, handed
  to the engine as a registry token. After the pull the engine must list the
  pinned ``repository@digest`` among the image's ``RepoDigests``: that holds on
  the classic overlay2 store (image ID = config digest) and on the containerd
  store (image ID = manifest digest) alike, so nothing here assumes either.
* A tarball is streamed to ``docker load`` while its sha256 is checked against
  the one recorded at upload.
* Both go through one per-worker cache with a disk budget
  (``PODIUM_IMAGE_CACHE_BYTES``): the least recently used images this worker
  brought in are removed when the budget is exceeded, never one that is in use
  or queued on this worker's queue. A team's next submission finds the layers
  it shares with the last one already in the engine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import docker.errors
import structlog
from sqlalchemy.orm import Session, sessionmaker

from backend.challenges.contract import RootPolicy
from backend.registry.keys import SigningKeyMissing, load_signing_key
from backend.registry.tokens import Access, mint
from backend.storage import Storage, StorageError
from backend.submissions import repository as submissions
from backend.submissions.images import ImageToRun
from worker.config import WorkerSettings
from worker.context import WorkerContext
from worker.engine_images import load, pull
from worker.image_cache import CacheEntry, CacheIndex, now, victims
from worker.runner.base import ImageRef, InfrastructureError

log = structlog.get_logger(__name__)


@runtime_checkable
class EngineRunner(Protocol):
    """What the image store needs of the runner: its engine client and image inspection."""

    @property
    def client(self) -> Any:
        """The Docker SDK client."""
        ...

    def present_image(self, reference: str, *, root_images: RootPolicy = "refuse") -> ImageRef:
        """An image the engine holds, checked and ready to run."""
        ...


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


class ImageStore:
    """Brings images into the engine for runs and keeps the worker's cache within budget.

    Parameters
    ----------
    runner
        The Docker runner (its client and :meth:`present_image`).
    settings
        The worker's settings (registry, budget, stall timeout, scratch folder).
    session_factory
        To read which images are queued on this worker's queue.
    storage
        Where tarballs are stored.
    """

    def __init__(
        self,
        *,
        runner: EngineRunner,
        settings: WorkerSettings,
        session_factory: sessionmaker[Session],
        storage: Storage,
    ) -> None:
        self.runner = runner
        self.settings = settings
        self.session_factory = session_factory
        self.storage = storage
        self.index = CacheIndex(settings.scratch_dir / "image-cache")

    # -- getting an image ---------------------------------------------------------
    def acquire(
        self, image: ImageToRun, *, workdir: Path, root_images: RootPolicy = "refuse"
    ) -> ImageRef:
        """The image ready to run: from the cache, else pulled or loaded (then cached).

        ``root_images`` is the phase's root policy (its run contract): an image
        that declares root is refused, or run as an unprivileged user.

        Raises
        ------
        ~worker.runner.base.SubmissionFailure
            The image cannot run (root user, nothing to run).
        InfrastructureError
            The registry, the storage or the engine failed.
        """
        if image.tarball_key is not None:
            # The stored tarball is the submission's image of record, cached or not.
            try:
                stored = self.storage.exists(image.tarball_key)
            except StorageError as exc:
                raise InfrastructureError(f"submission image: {exc}") from exc
            if not stored:
                raise InfrastructureError(
                    f"submission image: the stored tarball {image.tarball_key} is missing"
                )
        cached = self._cached(image, root_images=root_images)
        if cached is not None:
            return cached
        self.trim(keep={image.cache_key})
        entry: CacheEntry | None
        if image.reference is not None:
            entry = self._pull(image)
        else:
            entry = self._load(image, workdir=workdir)
        if entry is None:  # the engine had it already under a name it keeps (not ours)
            return self._present(self._engine_name(image), image, root_images=root_images)
        with self.index.edit() as entries:
            entries[entry.key] = entry
        return self._present(entry.engine_ref, image, root_images=root_images)

    def _engine_name(self, image: ImageToRun) -> str:
        if image.reference is not None:
            return self.pull_reference(image)
        return image.config_digest

    def pull_reference(self, image: ImageToRun) -> str:
        """``host/repository@sha256:…`` as this worker's engine reaches the registry."""
        host = self.settings.registry_pull_host or self.settings.registry_address
        if not host:
            raise InfrastructureError(
                "this submission is a pushed image but the worker has no registry "
                "(PODIUM_REGISTRY_URL / PODIUM_REGISTRY_PULL_HOST unset)"
            )
        return f"{host}/{image.reference}"

    def _present(self, engine_ref: str, image: ImageToRun, *, root_images: RootPolicy) -> ImageRef:
        if image.reference is not None:
            self._check_digest(engine_ref, image)
        ref = self.runner.present_image(engine_ref, root_images=root_images)
        # Never removed by the runner: the cache decides when an image goes.
        return replace(ref, loaded=False)

    def _check_digest(self, engine_ref: str, image: ImageToRun) -> None:
        """The engine's own word that this image is the pinned manifest digest."""
        with _engine("inspecting the pulled image"):
            attrs = self.runner.client.api.inspect_image(engine_ref)
        wanted = self.pull_reference(image)
        if wanted not in (attrs.get("RepoDigests") or []):
            raise InfrastructureError(
                f"the engine's image for {wanted} does not list that digest "
                f"(RepoDigests {attrs.get('RepoDigests')}): refusing to run it"
            )

    def _cached(self, image: ImageToRun, *, root_images: RootPolicy) -> ImageRef | None:
        with self.index.edit() as entries:
            entry = entries.get(image.cache_key)
            if entry is not None:
                if self._engine_has(entry.engine_ref):
                    entry.last_used = now()
                else:  # removed behind our back (a prune): fetch it again
                    del entries[image.cache_key]
                    entry = None
        if entry is not None:
            log.info("images.cache_hit", key=image.cache_key, source=entry.source)
            return self._present(entry.engine_ref, image, root_images=root_images)
        return None

    def _engine_has(self, reference: str) -> bool:
        try:
            self.runner.client.api.inspect_image(reference)
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.APIError as exc:
            raise InfrastructureError(f"Docker engine error while inspecting: {exc}") from exc
        return True

    def _size(self, reference: str) -> int:
        with _engine("measuring the image"):
            return int(self.runner.client.api.inspect_image(reference).get("Size") or 0)

    def _pull(self, image: ImageToRun) -> CacheEntry:
        reference = self.pull_reference(image)
        assert image.repository is not None
        token = pull_token(self.settings, image.repository)
        log.info("images.pull", reference=reference)
        started = now()
        summary = pull(
            self.runner.client,
            reference,
            token=token,
            stall_s=self.settings.image_stall_timeout_s,
        )
        log.info(
            "images.pulled",
            reference=reference,
            layers_downloaded=summary.downloaded,
            layers_present=summary.present,
            seconds=round(now() - started, 2),
        )
        return CacheEntry(
            key=image.cache_key,
            engine_ref=reference,
            size_bytes=self._size(reference),
            last_used=now(),
            source="registry",
        )

    def _load(self, image: ImageToRun, *, workdir: Path) -> CacheEntry | None:
        assert image.tarball_key is not None
        # The classic store names an image by its config digest: already there is
        # that image (from another worker, or an organiser's own), and not ours to remove.
        if self._engine_has(image.config_digest):
            return None
        tarball = workdir / "image.tar"
        try:
            self.storage.fetch(image.tarball_key, tarball)
        except StorageError as exc:
            raise InfrastructureError(f"submission image: {exc}") from exc
        try:
            loaded = load(
                self.runner.client,
                tarball,
                expected_sha256=image.tarball_sha256,
                stall_s=self.settings.image_stall_timeout_s,
            )
        finally:
            tarball.unlink(missing_ok=True)
        with _engine("inspecting the loaded image"):
            engine_id = str(self.runner.client.api.inspect_image(loaded[0])["Id"])
        return CacheEntry(
            key=image.cache_key,
            engine_ref=engine_id,
            size_bytes=self._size(engine_id),
            last_used=now(),
            source="tarball",
        )

    # -- keeping the budget ---------------------------------------------------------
    def release(self, image: ImageToRun) -> None:
        """After a run: mark the image used and bring the cache back under its budget."""
        with self.index.edit() as entries:
            entry = entries.get(image.cache_key)
            if entry is not None:
                entry.last_used = now()
        self.trim(keep=set())

    def trim(self, *, keep: set[str]) -> list[str]:
        """Remove least recently used images over the budget; returns the keys removed."""
        protected = keep | self._queued_keys()
        removed = []
        with self.index.edit() as entries:
            for entry in victims(
                list(entries.values()),
                budget_bytes=self.settings.image_cache_bytes,
                keep=protected,
            ):
                if self._remove(entry):
                    del entries[entry.key]
                    removed.append(entry.key)
        if removed:
            log.info("images.evicted", keys=removed)
        return removed

    def _queued_keys(self) -> set[str]:
        with self.session_factory() as session:
            return submissions.pending_image_keys(session, queue=self.settings.worker_queue)

    def _remove(self, entry: CacheEntry) -> bool:
        """Remove one cached image; ``False`` when it must stay (a container uses it)."""
        try:
            self.runner.client.api.remove_image(entry.engine_ref, noprune=False)
        except docker.errors.ImageNotFound:
            return True
        except docker.errors.APIError as exc:
            text = str(exc).lower()
            if "multiple repositories" in text or "must be forced" in text:
                return True  # someone else tagged it too: theirs now, no longer cached by us
            log.warning("images.not_removed", ref=entry.engine_ref, error=str(exc))
            return False
        return True

    def clear(self) -> None:
        """Remove every image this worker cached (tests, and taking a worker out)."""
        with self.index.edit() as entries:
            for key, entry in list(entries.items()):
                if self._remove(entry):
                    del entries[key]


class ImageSource(Protocol):
    """Brings a submission's image into the engine for a run, and takes it back after."""

    def acquire(
        self, image: ImageToRun, *, workdir: Path, root_images: RootPolicy = "refuse"
    ) -> ImageRef:
        """The image ready to run (see :meth:`ImageStore.acquire`)."""
        ...

    def release(self, image: ImageToRun) -> None:
        """The run is over (see :meth:`ImageStore.release`)."""
        ...


def image_store(context: WorkerContext) -> ImageSource:
    """The context's image source: its own when it has one, else the Docker image store.

    The Docker image store needs the Docker runner's engine client; a context
    whose runner has none (a test's scripted runner) brings its own source.
    """
    if context.images is not None:
        source: ImageSource = context.images
        return source
    runner = context.runner
    if not isinstance(runner, EngineRunner):
        raise TypeError(f"{type(runner).__name__} has no Docker engine to bring images into")
    return ImageStore(
        runner=runner,
        settings=context.settings,
        session_factory=context.session_factory,
        storage=context.storage,
    )


@contextlib.contextmanager
def _engine(doing: str) -> Iterator[None]:
    try:
        yield
    except docker.errors.DockerException as exc:
        raise InfrastructureError(f"Docker engine error while {doing}: {exc}") from exc
