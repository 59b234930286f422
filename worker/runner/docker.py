"""The Docker-SDK container runner: the sandbox every submission runs in.

What a submission's container gets (asserted one by one in
``tests/worker/test_sandbox_audit.py``):

* ``/input``: a read-only bind mount of the staged test inputs, nothing else
  from the host (labels live elsewhere and are never mounted);
* ``/output``: an empty tmpfs volume of ``output_bytes`` owned by the image's
  user, read back through a keeper container (:mod:`worker.runner.outbox`);
* no network (``network_mode=none``), a read-only root file system, a small
  ``/tmp`` tmpfs, every capability dropped, ``no-new-privileges``, the image's
  own non-root user (or, for an image that declares root under a phase whose
  run contract allows it, an unprivileged uid:gid of no account or group of the
  image, :mod:`worker.runner.users`), memory with swap equal to it (``/dev/shm``
  and ``/output`` are tmpfs and count in it), a pids limit, a CPU quota
  (at most the host's CPUs, :mod:`worker.runner.cpus`), a GPU only when
  configured, and a wall-clock limit after which it is killed;
* the run contract's arguments appended to the image's command and its
  ``/dev/shm`` size (:class:`~worker.runner.base.RunSpec`);
* its log capped on the engine's disk and kept head + tail here.

No client is created at import time: :class:`DockerRunner` makes one on first
use, so importing the worker needs no engine.
"""

from __future__ import annotations

import contextlib
import io
import socket
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker.client
import docker.errors
import docker.types
import requests.exceptions

from backend.challenges.contract import RootPolicy
from worker.engine_load import load_accepted
from worker.runner.base import (
    IMAGE_STALL_S,
    ImageRef,
    InfrastructureError,
    LogCapture,
    RunResult,
    RunSpec,
    SubmissionFailure,
)
from worker.runner.cpus import CpuShare
from worker.runner.docker_channel import drive, inbox_mounts
from worker.runner.imagestore import ImageStore
from worker.runner.outbox import ensure_keeper_image, unpack_outputs
from worker.runner.users import needs_account_files, run_user

#: The engine keeps at most this much log per container on its disk.
_ENGINE_LOG_OPTS = {"max-size": "8m", "max-file": "2"}
_LABELS = {"podium.role": "submission"}


@contextlib.contextmanager
def _engine_errors(doing: str) -> Iterator[None]:
    """Turn the SDK's and the transport's errors into :class:`InfrastructureError`."""
    try:
        yield
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise InfrastructureError(f"Docker engine error while {doing}: {exc}") from exc


def _declared_volumes(image: Any) -> tuple[str, ...]:
    """The image's ``VOLUME`` paths."""
    return tuple(sorted((image.attrs.get("Config") or {}).get("Volumes") or {}))


class DockerRunner:
    """:class:`~worker.runner.base.ContainerRunner` on a Docker engine.

    Parameters
    ----------
    client_factory
        Makes the SDK client on first use (default: ``docker.from_env``).
    """

    def __init__(self, *, client_factory: Callable[[], Any] | None = None) -> None:
        self._client_factory = client_factory
        self._client: Any = None
        self._cpus = CpuShare(lambda: self.client.info())  # noqa: PLW0108 - client made lazily
        self._store = ImageStore(lambda: self.client.info())  # noqa: PLW0108

    @property
    def client(self) -> Any:
        """The SDK client, created on first use."""
        if self._client is None:
            with _engine_errors("connecting"):
                if self._client_factory is not None:
                    self._client = self._client_factory()
                else:
                    self._client = docker.client.from_env(timeout=300)
        return self._client

    # -- the engine ---------------------------------------------------------
    def gpu_runtime(self) -> bool:
        """Whether the engine has NVIDIA's runtime registered (the container toolkit).

        ``nvidia-ctk runtime configure --runtime=docker`` registers it; without it
        the engine refuses every run that asks for a GPU.
        """
        with _engine_errors("asking the engine for its runtimes"):
            info = self.client.info()
        return "nvidia" in (info.get("Runtimes") or {}) or info.get("DefaultRuntime") == "nvidia"

    def own_container(self) -> dict[str, Any] | None:
        """``docker inspect`` of the container this process runs in; ``None`` on the host.

        A container's hostname is its short ID unless set otherwise, which is how
        compose starts the worker: its labels name the compose project, its mounts
        say where the data root comes from.
        """
        with _engine_errors("inspecting this worker's own container"):
            try:
                container = self.client.containers.get(socket.gethostname())
            except docker.errors.NotFound:
                return None
        return dict(container.attrs)

    # -- images -------------------------------------------------------------
    def load_image(
        self,
        tarball: Path,
        *,
        expected_id: str,
        root_images: RootPolicy = "refuse",
        expected_sha256: str | None = None,
        stall_s: float = IMAGE_STALL_S,
    ) -> ImageRef:
        """Load a ``docker save`` tarball unless the engine holds the image already.

        The one tarball path of the worker (:func:`worker.engine_load.load_accepted`,
        which the image cache uses too): on the classic store an image present
        under the expected ID is that image and is neither loaded again nor
        removed afterwards; on the containerd store the tarball is loaded, and
        removed afterwards only if this load added it.
        """
        if not tarball.is_file():
            raise InfrastructureError(f"the submission's image tarball {tarball} is missing")
        accepted = load_accepted(
            self.client,
            tarball,
            expected_id=expected_id,
            expected_sha256=expected_sha256,
            stall_s=stall_s,
            store=self._store,
            root_images=root_images,
        )
        with _engine_errors("inspecting the image"):
            image = self.client.images.get(accepted.image_id)
        try:
            return self._image_ref(image, loaded=accepted.added, root_images=root_images)
        except SubmissionFailure:
            if accepted.added:
                self.remove_image(ImageRef(image_id=image.id, user="", loaded=True))
            raise

    def present_image(self, reference: str, *, root_images: RootPolicy = "refuse") -> ImageRef:
        """An image the engine already holds (never removed by :meth:`remove_image`)."""
        with _engine_errors("inspecting the image"):
            image = self.client.images.get(reference)
        return self._image_ref(image, loaded=False, root_images=root_images)

    def _image_ref(self, image: Any, *, loaded: bool, root_images: RootPolicy) -> ImageRef:
        """What running ``image`` needs: its command and the numeric user it runs as."""
        config = image.attrs.get("Config") or {}
        if not config.get("Entrypoint") and not config.get("Cmd"):
            raise SubmissionFailure(
                "image_invalid",
                "The image has neither ENTRYPOINT nor CMD, so there is nothing to run. Add "
                'e.g. `ENTRYPOINT ["python", "/app/predict.py"]` to the Dockerfile.',
            )
        declared = str(config.get("User") or "")
        files = (
            self._read_account_files(image) if needs_account_files(declared, root_images) else {}
        )
        user = run_user(declared, policy=root_images, files=files)
        return ImageRef(
            image_id=str(image.id),
            user=user.user,
            loaded=loaded,
            volumes=_declared_volumes(image),
            unprivileged=user.unprivileged,
            entrypoint=tuple(config.get("Entrypoint") or ()),
            cmd=tuple(config.get("Cmd") or ()),
        )

    def _read_account_files(self, image: Any) -> dict[str, str]:
        """``/etc/passwd`` and ``/etc/group`` of an image, read without running it."""
        files: dict[str, str] = {}
        with _engine_errors("reading the image's /etc/passwd"):
            container = self.client.containers.create(
                image.id, entrypoint=["/nonexistent"], network_disabled=True, labels=_LABELS
            )
            try:
                for name in ("passwd", "group"):
                    try:
                        chunks, _ = container.get_archive(f"/etc/{name}")
                    except docker.errors.NotFound:
                        continue
                    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
                        member = tar.next()
                        data = tar.extractfile(member) if member and member.isreg() else None
                        files[name] = data.read(1 << 20).decode("utf-8", "replace") if data else ""
            finally:
                container.remove(force=True)
        return files

    def remove_image(self, image: ImageRef) -> None:
        """Remove an image this runner loaded; one still in use is left alone."""
        if not image.loaded:
            return
        with _engine_errors("removing the image"):
            try:
                self.client.images.remove(image.image_id, force=True)
            except (docker.errors.ImageNotFound, docker.errors.NotFound):
                pass
            except docker.errors.APIError as exc:
                if exc.status_code != 409:  # 409: another run uses it; its owner removes it
                    raise

    # -- runs ---------------------------------------------------------------
    def run(self, spec: RunSpec) -> RunResult:
        """Run ``spec`` in the sandbox and copy its ``/output`` into ``spec.output_dir``."""
        volume_name = f"{spec.name}-output"
        keeper_name = f"{spec.name}-keeper"
        with _engine_errors("preparing the run"):
            for name in (*spec.replaces, spec.name):
                self._remove_leftovers(name, f"{name}-keeper", f"{name}-output")
            try:
                keeper_image = ensure_keeper_image(self.client)
            except RuntimeError as exc:
                raise InfrastructureError(str(exc)) from exc
        try:
            with _engine_errors("starting the container"):
                uid, gid = spec.image.user.split(":")
                self.client.volumes.create(
                    name=volume_name,
                    driver="local",
                    driver_opts={
                        "type": "tmpfs",
                        "device": "tmpfs",
                        "o": f"size={spec.limits.output_bytes},uid={uid},gid={gid},mode=0755",
                    },
                    labels=_LABELS,
                )
                keeper = self.client.containers.run(
                    keeper_image, name=keeper_name, detach=True, **self._keeper_options(volume_name)
                )
                container = self.client.containers.create(
                    spec.image.image_id, name=spec.name, **self._sandbox_options(spec, volume_name)
                )
            return self._run_to_end(spec, container=container, keeper=keeper)
        finally:
            with _engine_errors("cleaning up"):
                self._remove_leftovers(spec.name, keeper_name, volume_name)

    def _run_to_end(self, spec: RunSpec, *, container: Any, keeper: Any) -> RunResult:
        log = LogCapture(head=spec.limits.log_head_bytes, tail=spec.limits.log_tail_bytes)
        with _engine_errors("running the container"):
            # Attached before the start, the stream misses nothing, and a flood is
            # paced by this reader rather than racing the engine's log rotation.
            stream = container.attach(stdout=True, stderr=True, stream=True, logs=True)
            reader = threading.Thread(target=self._follow_logs, args=(stream, log), daemon=True)
            reader.start()
            started = time.monotonic()
            container.start()
            timed_out = stopped = False
            # A closed loop's driver talks to the container while it runs.
            finished, wait_s = drive(
                spec, client=self.client, container=container, keeper=keeper, started=started
            )
            try:
                container.wait(timeout=wait_s)
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                container.reload()
                if container.status == "running":
                    stopped, timed_out = finished, not finished
                    # It may exit on its own between the check and the kill (409).
                    with contextlib.suppress(docker.errors.APIError):
                        container.kill()
                container.wait(timeout=60)
            duration = time.monotonic() - started
            reader.join(timeout=10)
            container.reload()
            state = container.attrs["State"]
            notes = self._copy_out(spec, keeper) if spec.output_depth > 0 else []
        return RunResult(
            exit_code=int(state.get("ExitCode", -1)),
            timed_out=timed_out,
            oom_killed=bool(state.get("OOMKilled")),
            duration_s=duration,
            log=log.text(),
            log_bytes=log.total,
            output_notes=tuple(notes),
            stopped=stopped,
        )

    @staticmethod
    def _copy_out(spec: RunSpec, keeper: Any) -> list[str]:
        chunks, _ = keeper.get_archive("/output")
        try:
            return unpack_outputs(
                chunks,
                destination=spec.output_dir,
                max_total_bytes=spec.limits.output_bytes,
                depth=spec.output_depth,
            )
        except OSError as exc:  # our disk (full, unwritable), not the team's outputs
            raise InfrastructureError(
                f"cannot copy /output out to {spec.output_dir}: {exc.strerror or exc}"
            ) from exc

    @staticmethod
    def _follow_logs(stream: Iterator[bytes], log: LogCapture) -> None:
        # The stream ends when the container stops; an engine error here only
        # costs log lines, the run's outcome is read separately.
        with contextlib.suppress(Exception):
            for chunk in stream:
                log.feed(chunk)

    @staticmethod
    def _hardening() -> dict[str, Any]:
        return {
            "network_mode": "none",
            "read_only": True,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "labels": _LABELS,
        }

    def _keeper_options(self, volume_name: str) -> dict[str, Any]:
        return {
            **self._hardening(),
            "mounts": [docker.types.Mount("/output", volume_name, type="volume", no_copy=True)],
            # runc itself runs in the cgroup while starting; below ~32 MiB it can be OOM-killed.
            "mem_limit": 64 * 1024 * 1024,
            "pids_limit": 4,
            "labels": {"podium.role": "keeper"},
        }

    def _sandbox_options(self, spec: RunSpec, volume_name: str) -> dict[str, Any]:
        limits = spec.limits
        options: dict[str, Any] = {
            **self._hardening(),
            "network_disabled": True,
            "user": spec.image.user,
            "hostname": "sandbox",
            # A root image run unprivileged would find HOME=/root, which it cannot write.
            "environment": {
                **({"HOME": "/tmp"} if spec.image.unprivileged else {}),  # noqa: S108
                **spec.env,
            },
            "command": spec.command(),
            "shm_size": spec.shm_bytes,
            "mounts": [
                docker.types.Mount(
                    "/input", str(spec.input_dir.resolve()), type="bind", read_only=True
                ),
                docker.types.Mount("/output", volume_name, type="volume", no_copy=True),
                *inbox_mounts(spec),
            ],
            "tmpfs": {
                # An image's VOLUMEs would be writable, uncapped volumes on the host's disk.
                **{
                    path: f"size={limits.tmp_bytes},mode=1777"
                    for path in spec.image.volumes
                    if path not in {"/input", "/output"}
                },
                "/tmp": f"size={limits.tmp_bytes},mode=1777",  # noqa: S108 - in the container
            },
            "mem_limit": limits.memory_bytes,
            "memswap_limit": limits.memory_bytes,
            "pids_limit": limits.pids,
            "nano_cpus": self._cpus.nano_cpus(limits.cpus),
            "log_config": docker.types.LogConfig(type="json-file", config=_ENGINE_LOG_OPTS),
        }
        if spec.gpus:
            options["device_requests"] = [
                docker.types.DeviceRequest(device_ids=list(spec.gpus), capabilities=[["gpu"]])
            ]
        return options

    def _remove_leftovers(self, *names: str) -> None:
        """Remove containers and the volume of an earlier attempt with these names."""
        container_names, volume_name = names[:-1], names[-1]
        for name in container_names:
            with contextlib.suppress(docker.errors.NotFound):
                self.client.containers.get(name).remove(force=True, v=False)
        with contextlib.suppress(docker.errors.NotFound):
            self.client.volumes.get(volume_name).remove(force=True)
