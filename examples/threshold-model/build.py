#!/usr/bin/env python3
"""Build the example participant container without any registry.

Compiles ``predict.c`` into one static binary, packs it into a root filesystem that
holds nothing else (plus empty /tmp, /input and /output), and ``docker import``s
that as an image running as user 1000:1000 with the binary as its entrypoint.
Optionally ``docker save``s the image: that tarball is what a team uploads.

    python3 examples/threshold-model/build.py
    python3 examples/threshold-model/build.py --save /tmp/threshold-model.tar.gz
    python3 examples/threshold-model/build.py --tag demo/weak:1 -D MIN_LESION_VOXELS=80

Needs gcc, a static zlib (Debian/Ubuntu: ``apt-get install gcc zlib1g-dev``) and a
Docker engine. Uses only the Python standard library.
"""

from __future__ import annotations

import argparse
import gzip
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = ("predict.c", "nifti.c", "interactive.c", "clicks.c")
DEFAULT_TAG = "podium-example/threshold-model:latest"
# Unprivileged on purpose: Podium runs every container as a non-root user anyway.
IMAGE_CHANGES = (
    "USER 1000:1000",
    'ENTRYPOINT ["/predict"]',
    "WORKDIR /tmp",
    "LABEL org.opencontainers.image.title=podium-threshold-model",
)
DEFINE = re.compile(r"^(TOLERANCE_HU|MIN_LESION_VOXELS|EDGE_FRACTION)=[0-9.]+f?$")


class BuildError(Exception):
    """A build step failed; the message says what to do about it."""


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the image tag alone."""
    print(f"[threshold-model] {message}", file=sys.stderr, flush=True)


def compile_binary(out: Path, *, defines: list[str]) -> None:
    """Compile the sources into one static executable at ``out``."""
    gcc = shutil.which("gcc")
    if gcc is None:
        raise BuildError("gcc not found: install it (Debian/Ubuntu: apt-get install gcc)")
    command = [gcc, "-static", "-O2", "-Wall", "-Wextra", "-o", str(out)]
    command += [f"-D{d}" for d in defines]
    command += [str(HERE / s) for s in SOURCES] + ["-lz", "-lm"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        if "-lz" in result.stderr or "zlib.h" in result.stderr:
            raise BuildError(
                "no static zlib: install it (Debian/Ubuntu: apt-get install zlib1g-dev)\n"
                + result.stderr
            )
        raise BuildError(f"gcc failed:\n{result.stderr}")
    log(f"compiled {out.name} ({out.stat().st_size // 1024} KiB, static)")


def rootfs_tar(binary: Path, tar_path: Path) -> None:
    """A root filesystem holding the binary and the empty folders the sandbox mounts over."""

    def entry(name: str, *, mode: int, kind: bytes = tarfile.DIRTYPE) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.uid, info.gid, info.mtime = kind, mode, 0, 0, 0
        return info

    with tarfile.open(tar_path, "w") as tar:
        for folder, mode in (("tmp", 0o1777), ("input", 0o755), ("output", 0o755)):
            tar.addfile(entry(folder, mode=mode))
        data = binary.read_bytes()
        info = entry("predict", mode=0o755, kind=tarfile.REGTYPE)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def docker(*args: str, stdout: int | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the docker CLI, turning failures into a readable BuildError."""
    if shutil.which("docker") is None:
        raise BuildError(
            "the docker CLI is not installed (Debian/Ubuntu: apt-get install docker.io)"
        )
    result = subprocess.run(["docker", *args], stdout=stdout, stderr=subprocess.PIPE, check=False)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise BuildError(f"docker {args[0]} failed: {message}")
    return result


def save_image(tag: str, path: Path) -> None:
    """``docker save`` the image to ``path``; gzip it when the name ends in .gz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "image.tar"
            docker("save", "-o", str(raw), tag)
            with raw.open("rb") as src, gzip.open(path, "wb", compresslevel=6) as dst:
                shutil.copyfileobj(src, dst)
    else:
        docker("save", "-o", str(path), tag)
    log(f"saved {tag} to {path} ({path.stat().st_size // 1024} KiB)")


def build(*, tag: str, save: Path | None, defines: list[str]) -> str:
    """Compile, import and optionally save; returns the image id."""
    for d in defines:
        if not DEFINE.match(d):
            raise BuildError(
                f"-D {d}: expected TOLERANCE_HU=, MIN_LESION_VOXELS= or EDGE_FRACTION= a number"
            )
    with tempfile.TemporaryDirectory(prefix="threshold-model-") as tmp:
        binary = Path(tmp) / "predict"
        compile_binary(binary, defines=defines)
        tar_path = Path(tmp) / "rootfs.tar"
        rootfs_tar(binary, tar_path)
        changes = [arg for change in IMAGE_CHANGES for arg in ("--change", change)]
        result = docker("import", *changes, str(tar_path), tag, stdout=subprocess.PIPE)
    image_id = result.stdout.decode().strip()
    log(f"imported {tag} ({image_id[:19]})")
    if save is not None:
        save_image(tag, save)
    return image_id


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; prints the tag on success."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tag", default=DEFAULT_TAG, help=f"image tag (default {DEFAULT_TAG})")
    parser.add_argument(
        "--save", type=Path, help="also docker-save the image here (.tar or .tar.gz)"
    )
    parser.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="tune the model: TOLERANCE_HU, MIN_LESION_VOXELS or EDGE_FRACTION",
    )
    args = parser.parse_args(argv)
    try:
        build(tag=args.tag, save=args.save, defines=args.defines)
    except BuildError as exc:
        log(f"ERROR: {exc}")
        return 1
    print(args.tag)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
