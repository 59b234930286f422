"""The registry's own configuration, written by Podium so the two always agree.

``podium registry config`` prints it; the test fixtures and the demo write it
for the registry process they start. It sets token authentication (Podium's
realm, service, issuer and certificate), the notification endpoint with its
shared secret, filesystem storage with deletes enabled (so garbage collection
can reclaim what teams delete) and the listening address.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
from pathlib import Path
from typing import Any

import yaml

from backend.config import Settings
from backend.registry.keys import CERT_FILE, load_signing_key

#: The header the registry sends its notifications with.
NOTIFY_HEADER = "Authorization"


def notify_secret(settings: Settings) -> str:
    """The shared secret of the notification endpoint, derived from ``PODIUM_SECRET_KEY``.

    Derived rather than configured: the API and ``podium registry config`` both
    know the secret key, so there is nothing else to keep in step.
    """
    return hmac.new(
        settings.secret_key.encode(), b"podium registry notifications", hashlib.sha256
    ).hexdigest()


def http_secret(settings: Settings) -> str:
    """The registry's ``http.secret`` (signs upload state), stable across restarts and replicas."""
    return hmac.new(
        settings.secret_key.encode(), b"podium registry upload state", hashlib.sha256
    ).hexdigest()


def registry_config(
    settings: Settings,
    *,
    listen: str,
    storage_dir: Path,
    realm: str | None = None,
    notify_url: str | None = None,
    debug_listen: str | None = None,
) -> dict[str, Any]:
    """The registry's ``config.yml`` as a mapping.

    Parameters
    ----------
    settings
        Podium's settings (service, issuer, key folder, secret).
    listen
        ``host:port`` the registry listens on (plain HTTP: put TLS in front of
        a registry reached from other machines, docs/deployment.md).
    storage_dir
        Filesystem storage root.
    realm, notify_url
        Override ``settings.registry_realm`` / ``registry_notify_url``.
    debug_listen
        The debug server's address (health, metrics); off when ``None``.
    """
    load_signing_key(settings.registry_keys, create=True)
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "fields": {"service": "registry"}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage_dir)},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
            "maintenance": {
                "uploadpurging": {"enabled": True, "age": "24h", "interval": "1h", "dryrun": False}
            },
        },
        "http": {
            "addr": listen,
            # Fixed, so an upload survives a restart and replicas accept each other's uploads.
            "secret": http_secret(settings),
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
        "auth": {
            "token": {
                "realm": realm or settings.registry_realm,
                "service": settings.registry_service,
                "issuer": settings.registry_issuer,
                "rootcertbundle": str((settings.registry_keys / CERT_FILE).resolve()),
            }
        },
        "notifications": {
            "endpoints": [
                {
                    "name": "podium",
                    "url": notify_url or settings.registry_notify_url,
                    "headers": {NOTIFY_HEADER: [f"Bearer {notify_secret(settings)}"]},
                    "timeout": "5s",
                    "threshold": 5,
                    "backoff": "2s",
                    # Layers are implied by their manifest; pulls are the workers' own.
                    "ignore": {
                        "mediatypes": ["application/octet-stream"],
                        "actions": ["pull"],
                    },
                }
            ]
        },
    }
    if debug_listen is not None:
        config["http"]["debug"] = {"addr": debug_listen}
    return config


def write_registry_config(path: Path, config: dict[str, Any]) -> None:
    """Write ``config`` as YAML, readable by its owner only (it holds the shared secret)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(config, out, sort_keys=False)


def main(argv: list[str] | None = None) -> int:
    """``python -m backend.registry.registry_config``: write the registry's config file.

    The registry's container runs this before ``docker-registry serve`` (it
    needs only the settings, the signing key folder and PyYAML).
    """
    parser = argparse.ArgumentParser(description="Write the registry's config from PODIUM_*.")
    parser.add_argument("--listen", default="0.0.0.0:5000", help="host:port to listen on")
    parser.add_argument("--storage", type=Path, default=Path("/var/lib/registry"))
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    settings = Settings()
    write_registry_config(
        args.output, registry_config(settings, listen=args.listen, storage_dir=args.storage)
    )
    print(f"wrote {args.output} (certificate {settings.registry_keys / CERT_FILE})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
