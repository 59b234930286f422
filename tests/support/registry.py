"""Driving the registry in tests: the stock ``docker`` CLI, and hand-made manifests.

:class:`DockerCli` runs the real ``docker`` command with its own temporary
``DOCKER_CONFIG`` (so a test's ``docker login`` touches nobody's credentials)
and untags, at the end, every reference it tagged. :func:`push_manifest` and
:func:`push_index` write images straight through the registry's HTTP API with
a token Podium mints, for shapes the CLI cannot make here (a multi-platform
list without linux/amd64, a huge declared layer).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from backend.registry.client import DOCKER_LIST, DOCKER_MANIFEST
from backend.registry.keys import load_signing_key
from backend.registry.tokens import Access, mint

CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@dataclass
class DockerCli:
    """The real ``docker`` CLI with a private config folder."""

    config_dir: Path
    tagged: list[str] = field(default_factory=list)

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """``docker ARGS`` (never raises on a non-zero exit)."""
        return subprocess.run(
            ["docker", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={"DOCKER_CONFIG": str(self.config_dir), "PATH": "/usr/local/bin:/usr/bin:/bin"},
            check=False,
        )

    def login(self, address: str, user: str, password: str) -> subprocess.CompletedProcess[str]:
        """``docker login`` with the password on stdin."""
        return self.run("login", address, "-u", user, "--password-stdin", stdin=password)

    def tag(self, source: str, target: str) -> None:
        """``docker tag`` (remembered, untagged by :meth:`cleanup`)."""
        done = self.run("tag", source, target)
        assert done.returncode == 0, done.stderr
        self.tagged.append(target)

    def push(self, reference: str) -> subprocess.CompletedProcess[str]:
        """``docker push``."""
        return self.run("push", reference, timeout=600)

    def cleanup(self) -> None:
        """Untag what this CLI tagged (the images themselves stay)."""
        for reference in self.tagged:
            self.run("rmi", "--no-prune", reference)
        self.tagged.clear()
        shutil.rmtree(self.config_dir, ignore_errors=True)


def pushed_digest(output: str) -> str:
    """The manifest digest ``docker push`` printed (``…: digest: sha256:… size: …``)."""
    for line in output.splitlines():
        if "digest: sha256:" in line:
            return line.split("digest: ", 1)[1].split()[0]
    raise AssertionError(f"no digest in the push output: {output}")


def _token(key_dir: Path, repository: str) -> str:
    token, _ = mint(
        load_signing_key(key_dir),
        issuer="podium",
        service="podium-registry",
        subject="test",
        access=[Access("repository", repository, ("pull", "push", "delete"))],
        ttl_s=300,
    )
    return token


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def upload_blob(
    http: httpx.Client, registry_url: str, repository: str, data: bytes, token: str
) -> str:
    """Monolithic blob upload (POST then PUT); returns its digest."""
    digest = _digest(data)
    headers = {"Authorization": f"Bearer {token}"}
    started = http.post(f"{registry_url}/v2/{repository}/blobs/uploads/", headers=headers)
    assert started.status_code == 202, started.text
    location = httpx.URL(registry_url).join(started.headers["location"])
    done = http.put(
        location.copy_merge_params({"digest": digest}),
        content=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert done.status_code == 201, done.text
    return digest


def push_manifest(
    *,
    registry_url: str,
    key_dir: Path,
    repository: str,
    tag: str,
    config: dict[str, Any],
    layers: Sequence[bytes] = (b"layer",),
    declared_layer_sizes: Sequence[int] | None = None,
) -> tuple[str, int]:
    """Push an image manifest (docker v2) by hand; returns its digest and byte length.

    ``declared_layer_sizes`` overrides the sizes the manifest states (the
    registry checks blobs, not the sizes a manifest claims).
    """
    token = _token(key_dir, repository)
    with httpx.Client(timeout=30) as http:
        config_raw = json.dumps(config).encode()
        config_digest = upload_blob(http, registry_url, repository, config_raw, token)
        layer_entries = []
        for index, layer in enumerate(layers):
            size = len(layer) if declared_layer_sizes is None else declared_layer_sizes[index]
            digest = upload_blob(http, registry_url, repository, layer, token)
            layer_entries.append({"mediaType": LAYER_TYPE, "size": size, "digest": digest})
        manifest = {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": CONFIG_TYPE, "size": len(config_raw), "digest": config_digest},
            "layers": layer_entries,
        }
        raw = json.dumps(manifest).encode()
        put = http.put(
            f"{registry_url}/v2/{repository}/manifests/{tag}",
            content=raw,
            headers={"Authorization": f"Bearer {token}", "Content-Type": DOCKER_MANIFEST},
        )
        assert put.status_code == 201, put.text
    return _digest(raw), len(raw)


def push_index(
    *,
    registry_url: str,
    key_dir: Path,
    repository: str,
    tag: str,
    entries: Sequence[tuple[str, int, str, str]],
) -> str:
    """Push a manifest list of ``(digest, size, os, architecture)``; returns its digest."""
    token = _token(key_dir, repository)
    index = {
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST,
        "manifests": [
            {
                "mediaType": DOCKER_MANIFEST,
                "digest": digest,
                "size": size,
                "platform": {"os": os_name, "architecture": arch},
            }
            for digest, size, os_name, arch in entries
        ],
    }
    raw = json.dumps(index).encode()
    with httpx.Client(timeout=30) as http:
        put = http.put(
            f"{registry_url}/v2/{repository}/manifests/{tag}",
            content=raw,
            headers={"Authorization": f"Bearer {token}", "Content-Type": DOCKER_LIST},
        )
        assert put.status_code == 201, put.text
    return _digest(raw)


def delete_tag(*, registry_url: str, key_dir: Path, repository: str, tag: str) -> str:
    """Delete what a tag points at, as a team would (the registry deletes by digest)."""
    token = _token(key_dir, repository)
    headers = {"Authorization": f"Bearer {token}", "Accept": DOCKER_MANIFEST}
    with httpx.Client(timeout=30) as http:
        head = http.head(f"{registry_url}/v2/{repository}/manifests/{tag}", headers=headers)
        assert head.status_code == 200, head.text
        digest = head.headers["docker-content-digest"]
        gone = http.delete(f"{registry_url}/v2/{repository}/manifests/{digest}", headers=headers)
        assert gone.status_code == 202, gone.text
    return digest
