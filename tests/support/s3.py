"""moto's S3 server on a local port: a real HTTP endpoint that boto3 talks to as to AWS."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from moto.server import ThreadedMotoServer

#: Credentials moto accepts; set in the environment of whoever talks to it.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "podium-test",
    "AWS_SECRET_ACCESS_KEY": "podium-test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    """A port nothing listens on at 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto's server; yields its endpoint URL."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
