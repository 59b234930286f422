"""Benchmark: stream a generated docker-save tarball to a real API process over loopback.

Prints throughput (MB/s, end to end: streaming, sha256, validation, commit) and
how much the API process's resident memory grew while receiving it.

    .venv/bin/python benchmarks/upload.py                 # 2 GB (the target run)
    .venv/bin/python benchmarks/upload.py --size-mb 256
    .venv/bin/python benchmarks/upload.py --storage s3    # into moto's S3 server

Targets: RSS growth < 64 MB; throughput >= 200 MB/s (filesystem). Uses SQLite
under a temporary data root; no Docker engine needed. With ``--storage s3`` the
API stores the upload in an S3 bucket (moto's server, in this benchmark's own
process, so its memory is not the API's): multipart, 16 MiB parts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.backend.tarballs import write_large_image  # noqa: E402
from tests.support.s3 import CREDENTIALS, moto_server  # noqa: E402

CHALLENGE = """
slug: bench
title: Benchmark
tasks:
  - slug: t
    title: T
    input_phase: venous
    paradigms: [lesion]
    phases:
      - {slug: p, title: P, kind: validation, submission_limit: 100,
         opens_at: "2024-01-01T00:00:00Z", closes_at: "2099-01-01T00:00:00Z"}
"""
MB = 1_000_000


def _podium(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", "from backend.cli import main; main()", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _file_chunks(path: Path, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while data := handle.read(chunk):
            yield data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--storage", choices=["filesystem", "s3"], default="filesystem")
    args = parser.parse_args()
    if args.storage == "s3":
        with moto_server() as endpoint:
            os.environ.update(CREDENTIALS)
            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")
            run(
                args,
                storage={
                    **CREDENTIALS,
                    "PODIUM_STORAGE_BACKEND": "s3",
                    "PODIUM_S3_BUCKET": "bench",
                    "PODIUM_S3_ENDPOINT_URL": endpoint,
                },
            )
    else:
        run(args, storage={})


def run(args: argparse.Namespace, *, storage: dict[str, str]) -> None:
    """Start the API with ``storage`` settings, upload, print the figures."""
    print(f"storage: {args.storage}")
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        work = Path(tmp)
        env = {
            **os.environ,
            **storage,
            "PODIUM_DATA_ROOT": str(work / "data"),
            "PODIUM_LOG_LEVEL": "ERROR",
            "PODIUM_JOB_BACKEND": "local",
        }
        env.pop("PODIUM_DATABASE_URL", None)
        _podium(env, "db", "upgrade")
        (work / "c.yaml").write_text(CHALLENGE)
        _podium(env, "challenge", "apply", str(work / "c.yaml"))
        _podium(
            env,
            "user",
            "create",
            "--email",
            "b@example.org",
            "--name",
            "B",
            "--password",
            "benchmark password",
        )
        token = _podium(env, "user", "token", "--email", "b@example.org").strip()
        tarball = work / "image.tar"
        started = time.perf_counter()
        write_large_image(tarball, size_bytes=args.size_mb * MB)
        size = tarball.stat().st_size
        print(
            f"generated {size / MB:.0f} MB image tarball in {time.perf_counter() - started:.1f} s"
        )

        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(args.port),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
        )
        try:
            base = f"http://127.0.0.1:{args.port}"
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=600) as http:
                # Up to two minutes: a loaded machine is slow to import the app.
                deadline = time.monotonic() + 120
                while True:
                    try:
                        if http.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.1)
                http.post("/api/v1/challenges/bench/teams", json={"name": "bench"})
                phase_id = http.get("/api/v1/challenges/bench").json()["tasks"][0]["phases"][0][
                    "id"
                ]
                process = psutil.Process(server.pid)
                # Warm-up: one small upload, so imports and pools are not counted as growth.
                small = work / "small.tar"
                write_large_image(small, size_bytes=2 * MB)
                http.post(f"/api/v1/phases/{phase_id}/submissions", content=small.read_bytes())
                baseline = process.memory_info().rss
                peak = baseline
                done = threading.Event()

                def sample() -> None:
                    nonlocal peak
                    while not done.is_set():
                        peak = max(peak, process.memory_info().rss)
                        time.sleep(0.02)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                started = time.perf_counter()
                response = http.post(
                    f"/api/v1/phases/{phase_id}/submissions",
                    content=_file_chunks(tarball),
                    headers={"Content-Length": str(size)},
                )
                elapsed = time.perf_counter() - started
                done.set()
                sampler.join()
            if response.status_code != 201:
                raise SystemExit(f"upload failed: {response.status_code} {response.text}")
            growth = (peak - baseline) / 2**20
            rate = size / MB / elapsed
            print(
                f"uploaded {size / MB:.0f} MB in {elapsed:.2f} s: {rate:.0f} MB/s "
                f"(target >= 200 MB/s)"
            )
            print(
                f"API RSS {baseline / 2**20:.0f} MiB before, peak {peak / 2**20:.0f} MiB: "
                f"growth {growth:.1f} MiB (target < 64 MiB)"
            )
            print(
                f"sha256 {response.json()['tarball_sha256'][:16]}..., "
                f"digest {response.json()['image_digest'][:19]}..."
            )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
