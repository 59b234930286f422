"""How ``podium`` finds a Podium running on this machine without any ``PODIUM_*`` variable.

``scripts/demo`` writes ``instance.json`` into its data root: the API's address, the
database URL, the data root, where the token pepper is kept and the job backend. When
``PODIUM_DATABASE_URL`` is unset, the ``podium`` command looks for that file in
``$PODIUM_DATA_ROOT``, else in the nearest ``.podium`` folder of the working directory or
its parents (the demo's default data root is ``.podium`` in the checkout), and fills in
each setting the environment does not set. Explicit variables always win.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass
from pathlib import Path

#: The file's name in the data root.
INSTANCE_FILE = "instance.json"
#: The data root folder the demo uses by default, in the checkout.
DEMO_FOLDER = ".podium"


@dataclass(frozen=True, slots=True)
class Instance:
    """What a local process running Podium tells the ``podium`` command."""

    kind: str
    api_url: str
    database_url: str
    data_root: str
    secret_key_file: str
    job_backend: str

    def environment(self) -> dict[str, str]:
        """The ``PODIUM_*`` settings this instance runs with (the secret read from its file)."""
        env = {
            "PODIUM_DATABASE_URL": self.database_url,
            "PODIUM_DATA_ROOT": self.data_root,
            "PODIUM_JOB_BACKEND": self.job_backend,
        }
        secret = Path(self.secret_key_file)
        if secret.is_file():
            env["PODIUM_SECRET_KEY"] = secret.read_text(encoding="utf-8").strip()
        return env


def write_instance(root: Path, instance: Instance) -> Path:
    """Write ``root/instance.json`` atomically (mode 600); returns its path."""
    path = root / INSTANCE_FILE
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(asdict(instance), indent=2) + "\n", encoding="utf-8")
    partial.chmod(0o600)
    partial.replace(path)
    return path


def read_instance(path: Path) -> Instance | None:
    """The instance described by ``path``, or ``None`` if it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Instance(**{k: str(data[k]) for k in Instance.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find_instance(env: MutableMapping[str, str], cwd: Path) -> Path | None:
    """The instance file ``podium`` would adopt, or ``None`` (see the module docstring)."""
    if env.get("PODIUM_DATABASE_URL"):
        return None
    if root := env.get("PODIUM_DATA_ROOT"):
        candidate = Path(root).expanduser() / INSTANCE_FILE
        return candidate if candidate.is_file() else None
    for folder in (cwd, *cwd.parents):
        candidate = folder / DEMO_FOLDER / INSTANCE_FILE
        if candidate.is_file():
            return candidate
    return None


def adopt_instance(env: MutableMapping[str, str], cwd: Path) -> Path | None:
    """Fill in ``env`` from the instance :func:`find_instance` finds; returns its file.

    Only unset variables are filled in, so ``PODIUM_*`` in the environment still win.
    """
    path = find_instance(env, cwd)
    instance = read_instance(path) if path else None
    if path is None or instance is None:
        return None
    for name, value in instance.environment().items():
        env.setdefault(name, value)
    return path


def instance_of(data_root: Path, database_url: str) -> Instance | None:
    """The instance whose file is in ``data_root`` and whose database is ``database_url``."""
    instance = read_instance(data_root / INSTANCE_FILE)
    return instance if instance and instance.database_url == database_url else None
