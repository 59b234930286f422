"""Large images, measured: push, a one-layer re-push, pulls cold and warm, tarball, baseline.

Builds, once (cached by tag and as a ``docker save`` file), a realistic nnU-Net
image without pulling anything from a registry:

1. ``debootstrap --variant=minbase bookworm`` with python3 and pip, ``docker import``ed;
2. CPU torch and nnunetv2 from PyPI wheels (``pip wheel`` on the host, installed in a
   ``--network none`` container, ``docker commit``);
3. five fold checkpoints of random bytes (trained weights do not compress either), a
   ``predict.py`` and a non-root user.

Then, in one run, against a fresh registry started like the tests start it (Podium as
its token server) and the API on a SQLite database:

* the first ``docker push`` of the image, and a second push after a one-small-layer
  change (bytes the registry received / the image's bytes);
* a plain ``docker pull`` by digest from the same registry (the baseline);
* a submission by tag → its container started, cold (the worker pulls by the pinned
  digest) and warm (the worker's cache), timed from the POST and from the dequeue;
* the same image as a tarball: upload, ``docker load``, container started.

Targets (issue 11): a one-layer change sends < 5 % of the image's bytes; a cached image
starts < 5 s after dequeue; Podium's pull within 1.2× of plain ``docker pull``.
Not a test: it needs root (debootstrap), the network to PyPI once, ~25 GB of disk and
tens of minutes; CI never runs it.

    sudo .venv/bin/python -m benchmarks.images [--cache DIR] [--weights-mb 1500]
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import docker
import httpx
from alembic import command
from alembic.config import Config

from backend.db import make_engine, make_session_factory
from backend.storage import FilesystemStorage
from backend.submissions.models import Submission
from tests.fixtures.registry import REGISTRY_SECRET, RegistryServer
from tests.support.registry import pushed_digest
from tests.support.registry_world import registry_world
from worker.config import WorkerSettings
from worker.context import WorkerContext
from worker.evaluation import evaluate
from worker.images import image_store
from worker.runner.base import GIB
from worker.runner.docker import DockerRunner

REPO = Path(__file__).resolve().parents[1]
BASE = "podium-registry-bench/bookworm-python:1"
DEPS = "podium-registry-bench/nnunet-deps:1"
IMAGE = "podium-registry-bench/nnunet:1"
CHANGED = "podium-registry-bench/nnunet:1-changed"
PACKAGES = ("torch==2.13.0", "nnunetv2")
PREDICT = """\
import glob, shutil
for path in sorted(glob.glob("/input/*")):
    shutil.copy(path, "/output/")  # a stand-in for nnUNetv2_predict: the timing is the image's
print("predicted", flush=True)
"""


def sh(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command, failing loudly with its output."""
    done = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


def has_image(client: Any, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def say(text: str) -> None:
    print(f"[images] {text}", file=sys.stderr, flush=True)


# -- building ---------------------------------------------------------------------------
def build_base(client: Any, cache: Path) -> None:
    if has_image(client, BASE):
        return
    rootfs = cache / "rootfs"
    if not (rootfs / "usr" / "bin" / "python3").exists():
        shutil.rmtree(rootfs, ignore_errors=True)
        say("debootstrap bookworm (minbase + python3, pip)")
        sh(
            "debootstrap",
            "--variant=minbase",
            "--include=python3,python3-pip,ca-certificates",
            "bookworm",
            str(rootfs),
            "http://deb.debian.org/debian",
        )
    say(f"docker import {BASE}")
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    sh("docker", "import", "--change", 'CMD ["/bin/bash"]', "-", BASE, stdin=tar.stdout)
    tar.wait()


def build_deps(client: Any, cache: Path) -> None:
    if has_image(client, DEPS):
        return
    wheels = cache / "wheels"
    if not any(wheels.glob("torch-*.whl")):
        say(f"pip wheel {' '.join(PACKAGES)} (once; the network to PyPI)")
        wheels.mkdir(parents=True, exist_ok=True)
        sh(sys.executable, "-m", "pip", "wheel", "-q", "-w", str(wheels), *PACKAGES)
    say("installing the wheels offline (--network none) and committing the layer")
    name = "podium-registry-bench-deps"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    sh(
        "docker", "run", "--name", name, "--network", "none", "-v", f"{wheels}:/wheels:ro",
        BASE, "sh", "-c",
        "pip install --no-index --find-links /wheels --break-system-packages --no-cache-dir "
        + " ".join(PACKAGES) + " && useradd -u 1000 -m runner",
    )  # fmt: skip
    sh("docker", "commit", name, DEPS)
    sh("docker", "rm", name)


def commit_layer(source: str, target: str, script: str, *, name: str) -> None:
    """Run ``script`` in a container of ``source`` and commit it as ``target`` (one layer)."""
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    sh(
        "docker",
        "run",
        "--name",
        name,
        "--network",
        "none",
        "--user",
        "0",
        "--entrypoint",
        "sh",
        source,
        "-c",
        script,
    )
    sh(
        "docker", "commit",
        "--change", "USER 1000:1000",
        "--change", "ENV HOME=/tmp",
        "--change", 'ENTRYPOINT ["python3", "/opt/predict.py"]',
        name, target,
    )  # fmt: skip
    sh("docker", "rm", name)


def build_image(client: Any, cache: Path, *, weights_mb: int) -> Path:
    """The benchmark image, and its ``docker save`` file (kept between runs)."""
    saved = cache / "nnunet.tar"
    if not has_image(client, IMAGE) and saved.is_file():
        say(f"docker load {saved}")
        sh("docker", "load", "-i", str(saved))
    if not has_image(client, IMAGE):
        build_base(client, cache)
        build_deps(client, cache)
        say(f"five fold checkpoints ({weights_mb} MB of random bytes) and predict.py")
        per_fold = weights_mb // 5
        code = base64.b64encode(PREDICT.encode()).decode()
        commit_layer(
            DEPS,
            IMAGE,
            "mkdir -p /opt/nnunet && for f in 0 1 2 3 4; do "
            f"head -c {per_fold}M /dev/urandom > /opt/nnunet/fold_$f.pth; done && "
            f"echo {code} | base64 -d > /opt/predict.py",
            name="podium-registry-bench-image",
        )
    if not saved.is_file():
        say(f"docker save {IMAGE}")
        sh("docker", "save", "-o", str(saved), IMAGE)
    return saved


def image_size(client: Any, tag: str) -> int:
    return int(client.api.inspect_image(tag)["Size"])


def remove_local(client: Any, prefix: str) -> None:
    """Remove every local name of the benchmark's images, so pulls and loads start cold."""
    for image in client.images.list():
        names = (image.attrs.get("RepoTags") or []) + (image.attrs.get("RepoDigests") or [])
        for name in names:
            if name.startswith(("podium-registry-bench/", prefix)):
                subprocess.run(["docker", "rmi", "-f", name], capture_output=True, check=False)


def blobs_bytes(storage: Path) -> int:
    blobs = storage / "docker" / "registry" / "v2" / "blobs"
    return sum(p.stat().st_size for p in blobs.rglob("data")) if blobs.exists() else 0


# -- measuring ----------------------------------------------------------------------------
class TimedRunner(DockerRunner):
    """The Docker runner, noting when the engine says each container started."""

    def __init__(self, client: Any) -> None:
        super().__init__(client_factory=lambda: client)
        self.started: list[float] = []

    def _run_to_end(self, spec: Any, *, container: Any, keeper: Any) -> Any:
        result = super()._run_to_end(spec, container=container, keeper=keeper)
        stamp = str(container.attrs["State"]["StartedAt"])
        whole, _, fraction = stamp.rstrip("Z").partition(".")
        moment = datetime.fromisoformat(whole + "+00:00").timestamp()
        self.started.append(moment + float(f"0.{fraction or 0}"))
        return result


def evaluate_timed(context: WorkerContext, runner: TimedRunner, sid: int) -> tuple[float, float]:
    """(dequeue → container started, the image stage) of one evaluation."""
    dequeued = time.time()
    outcome = evaluate(sid, context=context)
    if outcome.status != "succeeded":
        with context.session_factory() as session:
            row = session.get(Submission, sid)
            message = "" if row is None else row.message
            raise SystemExit(f"submission {sid} ended {outcome.status}: {message}")
    assert outcome.timings is not None
    return runner.started[-1] - dequeued, outcome.timings.load


def run(args: argparse.Namespace) -> dict[str, float]:
    client = docker.from_env(timeout=600)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    saved = build_image(client, cache, weights_mb=args.weights_mb)
    commit_layer(
        IMAGE, CHANGED, "echo '{\"version\": 2}' > /opt/nnunet/plans.json",
        name="podium-registry-bench-changed",
    )  # fmt: skip
    figures: dict[str, float] = {
        "image bytes": image_size(client, CHANGED),
        "layers": len(client.api.inspect_image(CHANGED)["RootFS"]["Layers"]),
    }
    work = Path(tempfile.mkdtemp(prefix="run-", dir=cache))
    registry = RegistryServer(
        root=work / "registry", port=args.port, realm_port=args.port + 1, binary="docker-registry"
    )
    registry.root.mkdir(parents=True)
    registry.start()
    url = f"sqlite:///{work / 'podium.sqlite3'}"
    config = Config(str(REPO / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    engine = make_engine(url)
    try:
        with registry_world(
            engine=engine, registry=registry, data_root=work / "data", scored=True,
            submission_limit=10, max_upload_bytes=64 * GIB,
        ) as world:  # fmt: skip
            measure(client, world, work=work, saved=saved, figures=figures, url=url)
    finally:
        registry.stop()
        engine.dispose()
        remove_local(client, f"{registry.address}/")
        say(f"docker load {saved} (kept for the next run)")
        sh("docker", "load", "-i", str(saved))
        subprocess.run(["docker", "rmi", CHANGED], capture_output=True, check=False)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return figures


def measure(
    client: Any, world: Any, *, work: Path, saved: Path, figures: dict[str, float], url: str
) -> None:
    cli = world.logged_in(work, "a")
    repository = f"{world.prefix('a')}nnunet"
    say("first push")
    cli.tag(IMAGE, f"{repository}:v1")
    started = time.monotonic()
    first = cli.push(f"{repository}:v1")
    figures["first push s"] = time.monotonic() - started
    assert first.returncode == 0, first.stderr
    figures["first push bytes"] = blobs_bytes(world.registry.storage)
    say("second push, one small layer changed")
    cli.tag(CHANGED, f"{repository}:v2")
    started = time.monotonic()
    second = cli.push(f"{repository}:v2")
    figures["second push s"] = time.monotonic() - started
    assert second.returncode == 0, second.stderr
    figures["second push bytes"] = blobs_bytes(world.registry.storage) - figures["first push bytes"]
    digest = pushed_digest(second.stdout)

    pull_prefix = f"{world.registry.address}/"
    remove_local(client, pull_prefix)
    say("baseline: plain docker pull by digest")
    started = time.monotonic()
    pulled = cli.run("pull", f"{repository}@{digest}", timeout=7200)
    figures["docker pull s"] = time.monotonic() - started
    assert pulled.returncode == 0, pulled.stderr
    remove_local(client, pull_prefix)

    runner = TimedRunner(client)
    settings = WorkerSettings(
        database_url=url,
        secret_key=REGISTRY_SECRET,
        data_root=world.settings.data_root,
        work_dir=work / "scratch",
        container_prefix="podium-registry-bench",
        run_cpus=1.0,
        **world.registry.settings(),
    )
    context = WorkerContext(
        session_factory=make_session_factory(make_engine(url)),
        storage=FilesystemStorage(settings.data_root),
        runner=runner,
        settings=settings,
    )
    for label, key in (("cold", "cold"), ("warm", "warm")):
        say(f"submission by tag → container started, {label}")
        posted = time.time()
        response = world.submit("a", f"{repository}:v2")
        assert response.status_code == 201, response.text
        from_dequeue, image_stage = evaluate_timed(context, runner, int(response.json()["id"]))
        figures[f"{key} submit→started s"] = runner.started[-1] - posted
        figures[f"{key} dequeue→started s"] = from_dequeue
        figures[f"{key} image stage s"] = image_stage

    image_store(context).clear()
    remove_local(client, pull_prefix)
    say("the same image as a tarball: upload, docker load, start")
    posted = time.time()
    with saved.open("rb") as body, httpx.Client(timeout=None) as http:
        response = http.post(
            f"{world.base}/api/v1/phases/{world.phase_id}/submissions",
            content=body,
            headers={
                "Authorization": f"Bearer {world.people['a'].token}",
                "Content-Type": "application/octet-stream",
            },
        )
    assert response.status_code == 201, response.text
    figures["tarball upload s"] = time.time() - posted
    from_dequeue, image_stage = evaluate_timed(context, runner, int(response.json()["id"]))
    figures["tarball submit→started s"] = runner.started[-1] - posted
    figures["tarball load s"] = image_stage
    figures["tarball bytes"] = saved.stat().st_size
    image_store(context).clear()


def report(figures: dict[str, float]) -> str:
    gb = 1e9
    size = figures["image bytes"]
    compressed = figures["first push bytes"]
    ratio = figures["second push bytes"] / compressed
    pull_ratio = figures["cold image stage s"] / figures["docker pull s"]
    rows = [
        f"image: {size / gb:.2f} GB uncompressed ({figures['layers']:.0f} layers), "
        f"{compressed / gb:.2f} GB in the registry",
        f"first push                          {figures['first push s']:8.1f} s   "
        f"{compressed / gb:.2f} GB sent",
        f"second push, one small layer changed {figures['second push s']:7.1f} s   "
        f"{figures['second push bytes'] / 1e6:.3f} MB sent = {100 * ratio:.3f} % of the image "
        f"(target < 5 %)",
        f"plain docker pull by digest          {figures['docker pull s']:7.1f} s   (baseline)",
        f"Podium pull (worker, cold)           {figures['cold image stage s']:7.1f} s   "
        f"= {pull_ratio:.2f}× docker pull (target ≤ 1.2×)",
        f"submission → container started, cold {figures['cold submit→started s']:7.1f} s   "
        f"(dequeue → started {figures['cold dequeue→started s']:.1f} s)",
        f"submission → container started, warm {figures['warm submit→started s']:7.1f} s   "
        f"(dequeue → started {figures['warm dequeue→started s']:.2f} s; target < 5 s)",
        f"tarball ({figures['tarball bytes'] / gb:.2f} GB): upload "
        f"{figures['tarball upload s']:.1f} s, load {figures['tarball load s']:.1f} s, "
        f"submission → started {figures['tarball submit→started s']:.1f} s",
    ]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", default="/var/tmp/podium-registry-bench")
    parser.add_argument("--weights-mb", type=int, default=1500)
    parser.add_argument("--port", type=int, default=5101, help="registry port; the API gets +1")
    parser.add_argument("--keep", action="store_true", help="keep the run's registry and data")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = parser.parse_args()
    figures = run(args)
    print(report(figures))
    if args.json:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
