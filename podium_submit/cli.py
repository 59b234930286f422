"""Submit a container image to a Podium phase, and optionally follow it to its result.

    podium-submit my-model:v3 --phase 3 --wait
    podium-submit model.tar.gz --phase 3            # a `docker save` tarball

IMAGE is a local image (pushed to Podium's registry under your team's prefix,
then submitted by its digest), a reference already in Podium's registry, or a
`docker save` tarball (uploaded). Without a registry, or with --tarball, a
local image is streamed from `docker save` straight to the server.

The token comes from --token or PODIUM_TOKEN, the server from --url or
PODIUM_URL. The accepted submission is printed as JSON on stdout.

Exit status: 0 accepted (or, with --wait, succeeded); 1 refused or failed, with
the server's message; 2 bad arguments or an unreachable server; 3 --wait ran
out of time while the submission was still in progress.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from podium_submit import dockercli as docker
from podium_submit.api import Api, SubmitError

#: An argument ending so names a tarball, never a local image.
TARBALL_SUFFIXES = (".tar", ".tar.gz", ".tgz")


def _pushed(api: Api, *, image: str, phase: int, name: str | None) -> dict[str, Any] | None:
    """Push (if local) and submit through the registry; ``None`` when there is no registry."""
    info = api.get(f"/api/v1/registry?phase={phase}")
    if not info.get("enabled") or not info.get("address"):
        return None
    namespaces = info.get("namespaces") or []
    if not namespaces:
        raise SubmitError(
            "you are not in a team of this phase's challenge: create or join one first", 1
        )
    namespace = namespaces[0]
    prefix = str(namespace["prefix"])
    local = docker.available() and docker.has_image(image)
    if not local:
        if image.startswith(prefix):  # pushed already (e.g. from another machine)
            print(f"submitting {image}", file=sys.stderr)
            return api.submit_reference(phase, image)
        raise SubmitError(
            f"{image} is neither a file nor an image your local docker has (see `docker images`)",
            2,
        )
    if not namespace.get("push"):
        raise SubmitError(f"your team cannot push yet: {namespace.get('note')}", 1)
    if image.startswith(prefix) and name is None:
        target = image
        repository = image.split("@", 1)[0].rsplit(":", 1)[0]
    else:
        repo_name, tag = docker.split_name(name or image)
        repository = f"{prefix}{repo_name}"
        target = f"{repository}:{tag}"
        docker.tag(image, target)
    docker.login(str(info["address"]), str(info["username"]), api.token)
    print(f"pushing {target}", file=sys.stderr)
    digest = docker.push(target)
    print(f"submitting {repository}@{digest}", file=sys.stderr)
    return api.submit_reference(phase, f"{repository}@{digest}")


def _uploaded(api: Api, *, image: str, phase: int) -> dict[str, Any]:
    path = Path(image)
    if path.is_file():
        with path.open("rb") as stream:
            return api.upload(phase, stream, size=path.stat().st_size)
    if not (docker.available() and docker.has_image(image)):
        raise SubmitError(
            f"{image} is not a file and not an image your local docker has; make a tarball "
            "with `docker save IMAGE:TAG -o image.tar`",
            2,
        )
    print(f"uploading `docker save {image}`", file=sys.stderr)
    return api.upload_chunks(phase, docker.save(image))


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        prog="podium-submit",
        description=(__doc__ or "").splitlines()[0],
        epilog="Exit status: 0 accepted/succeeded, 1 refused/failed, 2 bad input, 3 timed out.",
    )
    parser.add_argument("image", help="local image, Podium registry reference or tarball file")
    parser.add_argument("--phase", type=int, required=True, help="phase id")
    parser.add_argument("--url", default=os.environ.get("PODIUM_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("PODIUM_TOKEN"))
    parser.add_argument("--name", help="repository NAME[:TAG] under your team's prefix")
    parser.add_argument(
        "--tarball", action="store_true", help="upload a `docker save` tarball even with a registry"
    )
    parser.add_argument("--wait", action="store_true", help="follow the submission to its end")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds --wait waits")
    args = parser.parse_args(argv)
    try:
        if not args.token:
            raise SubmitError("no API token: pass --token or set PODIUM_TOKEN", 2)
        if args.image.endswith(TARBALL_SUFFIXES) and not Path(args.image).is_file():
            raise SubmitError(
                f"{args.image} is not a file; make one with `docker save IMAGE:TAG -o image.tar`",
                2,
            )
        api = Api(args.url, args.token)
        submission = None
        if not args.tarball and not Path(args.image).is_file():
            submission = _pushed(api, image=args.image, phase=args.phase, name=args.name)
        if submission is None:
            submission = _uploaded(api, image=args.image, phase=args.phase)
        if args.wait:
            submission = api.wait(submission, timeout=args.timeout)
        print(json.dumps(submission, indent=2))
        if args.wait and submission["status"] != "succeeded":
            reason = submission.get("failure_class") or submission["status"]
            raise SubmitError(f"{reason}: {submission.get('message', '')}", 1)
    except SubmitError as exc:
        print(f"podium-submit: {exc}", file=sys.stderr)
        return exc.status
    return 0
