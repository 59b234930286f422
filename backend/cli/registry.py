"""``podium registry``: the registry's config and Podium's signing key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.cli.app import registry_app
from backend.config import get_settings
from backend.registry.keys import CERT_FILE, load_signing_key
from backend.registry.registry_config import registry_config, write_registry_config


@registry_app.command("config")
def config(
    output: Annotated[Path, typer.Option(help="Where to write the registry's config.yml.")],
    listen: Annotated[str, typer.Option(help="host:port the registry listens on.")] = (
        "0.0.0.0:5000"
    ),
    storage: Annotated[Path, typer.Option(help="The registry's storage root.")] = Path(
        "/var/lib/registry"
    ),
) -> None:
    """Write the registry's config (token auth by Podium, notifications, storage), mode 0600."""
    settings = get_settings()
    write_registry_config(output, registry_config(settings, listen=listen, storage_dir=storage))
    typer.echo(f"wrote {output}; the registry trusts {settings.registry_keys / CERT_FILE}")


@registry_app.command("key")
def key() -> None:
    """Make Podium's token signing key if missing; print its certificate's path and key ID."""
    settings = get_settings()
    signing = load_signing_key(settings.registry_keys, create=True)
    typer.echo(f"{settings.registry_keys / CERT_FILE} kid {signing.kid}")
