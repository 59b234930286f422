"""``python -m podium.demo``: Podium on embedded defaults with a seeded TriALS-demo challenge.

What ``scripts/demo`` runs once the environment is ready. Everything lives under
``PODIUM_DATA_ROOT`` (default ``./.podium`` in the checkout): the SQLite database,
uploads, the generated data, the team images and ``demo/credentials.json``. A
second run reuses all of it. Ctrl-C stops it; an evaluation in progress is
finished first, queued ones resume at the next start.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import secrets
import shutil
import socket
import sys
import threading
from dataclasses import asdict
from pathlib import Path

import uvicorn
from alembic import command

from backend.auth import repository as users
from backend.auth import service as auth
from backend.cli import alembic_config
from backend.cli.instance import Instance, write_instance
from backend.db import make_engine, make_session_factory
from backend.enums import Role
from backend.errors import DomainError
from podium import registry
from podium.embedded import EmbeddedService, build_service, resume_unfinished
from podium.images import REPO, TEAMS, ImageBuildError
from podium.seed import Seeded, SeedError
from podium.seed_demo import banner, seed_demo
from worker.config import WorkerSettings

ORGANISER_EMAIL = "organiser@demo.podium.example.org"
ORGANISER_PASSWORD = "demo-organiser-password"  # noqa: S105 - a printed demo account
#: How long the demo waits for its own submissions before it says something is wrong.
EVALUATION_TIMEOUT_S = 600.0
#: How long Ctrl-C waits for the evaluation in progress before leaving it to the next start.
STOP_GRACE_S = 10.0


def say(message: str) -> None:
    """Progress on stdout (the JSON logs go to stderr)."""
    print(f"[demo] {message}", flush=True)


class DemoError(Exception):
    """A reason to stop, in words for the person at the terminal."""


def prepare_environment(*, verbose: bool = False) -> Path:
    """Settle the data root, a secret kept in it, and quiet logs; returns the data root."""
    root = Path(os.environ.get("PODIUM_DATA_ROOT") or REPO / ".podium").expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.environ["PODIUM_DATA_ROOT"] = str(root)
    secret_file = root / "secret_key"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        secret_file.chmod(0o600)
    os.environ.setdefault("PODIUM_SECRET_KEY", secret_file.read_text(encoding="utf-8").strip())
    # Progress lines are the demo's output; the JSON logs only say what went wrong.
    os.environ.setdefault("PODIUM_LOG_LEVEL", "INFO" if verbose else "WARNING")
    # The sandbox's default CPU share may exceed a laptop's (the engine refuses that).
    os.environ.setdefault("PODIUM_RUN_CPUS", str(min(4, os.cpu_count() or 1)))
    return root


def listen(host: str, port: int) -> socket.socket:
    """Bind the server's socket now, so a taken port is reported before any work."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise DemoError(f"port {port} is in use; set PODIUM_PORT") from exc
        raise DemoError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def generate_data(root: Path) -> Path:
    """The synthetic dataset (written once; its YAML file is written last)."""
    from demo.data import CHALLENGE_FILE, generate_demo_dataset  # noqa: PLC0415 - SimpleITK

    challenge_file = root / CHALLENGE_FILE
    if challenge_file.is_file():
        say(f"reusing the demo data in {root}")
        return challenge_file
    say(f"generating the synthetic TriALS-demo data in {root}")
    dataset = generate_demo_dataset(root)
    say(f"wrote {len(dataset.cases)} cases over 3 centres")
    return dataset.challenge_file


def migrate_and_bootstrap(
    settings: WorkerSettings, credentials: dict[str, object], *, verbose: bool = False
) -> str:
    """``alembic upgrade head``, then the accounts and the organiser's token (from the shell side).

    The first organiser cannot be made through the API (roles are granted by
    admins), so it is made as ``podium user create --role admin`` would; so are
    the demo teams' accounts, since signing up over HTTP is confirmed by e-mail.
    """
    say("migrating the database (alembic upgrade head)")
    config = alembic_config(settings.database_url)
    if not verbose:
        # alembic.ini would log each revision at INFO between the [demo] lines.
        config.attributes["configure_logger"] = False
        logging.getLogger("alembic").setLevel(logging.WARNING)
    command.upgrade(config, "head")
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            user = users.get_user_by_email(session, ORGANISER_EMAIL)
            if user is None:
                user = auth.register(
                    session,
                    email=ORGANISER_EMAIL,
                    password=ORGANISER_PASSWORD,
                    display_name="Demo organiser",
                )
                user.role = Role.ADMIN
            # The teams' accounts too: signing up over HTTP needs a confirmed e-mail address.
            for team in TEAMS:
                if users.get_user_by_email(session, team.email) is None:
                    auth.register(
                        session, email=team.email, password=team.password, display_name=team.name
                    )
            known = credentials.get("organiser_token")
            if isinstance(known, str):
                try:
                    auth.authenticate_token(session, token=known, secret_key=settings.secret_key)
                except DomainError:
                    pass  # revoked or from another database: issue a new one
                else:
                    return known
            _, token = auth.issue_token(
                session, user=user, name="demo", secret_key=settings.secret_key, ttl_days=None
            )
            return token
    finally:
        engine.dispose()


def _load_credentials(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _save_credentials(path: Path, *, organiser: str, seeded: Seeded, base_url: str) -> None:
    """Tokens for the next run and for scripts (the e2e test reads this file)."""
    document = {
        "url": base_url,
        "organiser_email": ORGANISER_EMAIL,
        "organiser_password": ORGANISER_PASSWORD,
        "organiser_token": organiser,
        "phases": seeded.phases,
        "interactive_phases": seeded.interactive,
        "teams": [asdict(t) for t in seeded.teams],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(document, indent=2), encoding="utf-8")
    partial.chmod(0o600)
    partial.replace(path)


class Demo:
    """The running demo: the server on the main thread, seeding on a helper thread."""

    def __init__(self, *, root: Path, host: str, port: int, verbose: bool = False) -> None:
        self.root = root
        self.verbose = verbose
        self.base_url = f"http://{host}:{port}"
        self.credentials_file = root / "demo" / "credentials.json"
        self.failed: str | None = None
        self.abandoned = False
        self.settings = WorkerSettings()
        self.service: EmbeddedService | None = None
        self.server: uvicorn.Server | None = None
        self.registry: registry.DemoRegistry | None = None

    def serve(self, sock: socket.socket) -> None:
        """Prepare, start the server and seed once it answers; returns after Ctrl-C."""
        challenge_file = generate_data(self.root / "demo" / "data")
        credentials = _load_credentials(self.credentials_file)
        organiser = migrate_and_bootstrap(self.settings, credentials, verbose=self.verbose)
        # How `podium` on this machine finds this demo (backend/cli/instance.py).
        write_instance(
            self.root,
            Instance(
                kind="demo",
                api_url=self.base_url,
                database_url=self.settings.database_url,
                data_root=str(self.root),
                secret_key_file=str(self.root / "secret_key"),
                job_backend="local",  # the embedded queue, whatever the environment says
            ),
        )
        self.registry = self._start_registry()
        self.service = build_service(self.settings)
        resumed = resume_unfinished(self.service)
        if resumed:
            say(f"resuming {len(resumed)} unfinished submissions from the last run")
        config = uvicorn.Config(
            self.service.app,
            log_level="info" if self.verbose else "warning",
            access_log=self.verbose,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        known = {
            str(t["email"]): str(t["token"])
            for t in credentials.get("teams", [])  # type: ignore[attr-defined]
            if isinstance(t, dict)
        }
        helper = threading.Thread(
            target=self._seed,
            kwargs={"challenge_file": challenge_file, "organiser": organiser, "known": known},
            name="podium-demo-seed",
            daemon=True,
        )
        helper.start()
        try:
            self.server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass  # uvicorn re-raises the Ctrl-C it already handled
        finally:
            self._stop_queue(self.service)

    def _start_registry(self) -> registry.DemoRegistry | None:
        """The registry teams push to (``None``, with the package named, when absent)."""
        try:
            started = registry.start(self.settings, root=self.root)
        except registry.RegistryStartError as exc:
            raise DemoError(str(exc)) from exc
        if started is None:
            say(
                "no image registry: install the Debian package docker-registry to let teams "
                "`docker push` (tarball uploads work without it)"
            )
        else:
            say(f"registry at {started.address} (log {started.log})")
        return started

    def stop_registry(self) -> None:
        """Stop the registry this demo started."""
        if self.registry is not None:
            self.registry.stop()
            self.registry = None

    def _stop_queue(self, service: EmbeddedService) -> None:
        """Let the evaluation in progress end for a moment, then leave it to the next start.

        An abandoned run is safe: the next start sends it again, and the guarded
        evaluation takes it over once its heartbeat is silent, removing the old
        attempt's container.
        """
        say("stopping")
        stopper = threading.Thread(
            target=service.queue.shutdown, kwargs={"cancel_pending": True}, daemon=True
        )
        stopper.start()
        stopper.join(STOP_GRACE_S)
        if stopper.is_alive():
            say("an evaluation was still running; it resumes at the next start")
            self.abandoned = True

    def _seed(self, *, challenge_file: Path, organiser: str, known: dict[str, str]) -> None:
        assert self.server is not None
        while not self.server.started:
            if self.server.should_exit:
                return
            threading.Event().wait(0.05)
        say(f"Podium is running at {self.base_url} (seeding the demo)")
        try:
            seeded = seed_demo(
                say=say,
                timeout_s=EVALUATION_TIMEOUT_S,
                base_url=self.base_url,
                root=self.root,
                challenge_file=challenge_file,
                organiser=organiser,
                known=known,
            )
            _save_credentials(
                self.credentials_file, organiser=organiser, seeded=seeded, base_url=self.base_url
            )
        except (SeedError, ImageBuildError, OSError) as exc:
            self.failed = str(exc)
            say(f"ERROR: {exc}")
            self.server.should_exit = True
            return
        login = (ORGANISER_EMAIL, ORGANISER_PASSWORD)
        text = banner(
            base_url=self.base_url,
            root=self.root,
            seeded=seeded,
            organiser=organiser,
            organiser_login=login,
        )
        print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point: 0 after Ctrl-C, 1 with a message when the demo cannot run."""
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--verbose", action="store_true", help="the server's and the migrations' logs too"
    )
    verbose = parser.parse_args(argv).verbose
    host = os.environ.get("PODIUM_HOST", "127.0.0.1")
    port_text = os.environ.get("PODIUM_PORT", "8000")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        say(f"ERROR: PODIUM_PORT must be a port number, got {port_text!r}")
        return 1
    try:
        sock = listen(host, int(port_text))
        root = prepare_environment(verbose=verbose)
        say(f"data root {root}")
        if shutil.which(registry.BINARY):
            registry.configure_environment(
                port=registry.choose_port(), base_url=f"http://{host}:{port_text}"
            )
        demo = Demo(root=root, host=host, port=int(port_text), verbose=verbose)
        try:
            demo.serve(sock)
        finally:
            demo.stop_registry()
    except DemoError as exc:
        say(f"ERROR: {exc}")
        return 1
    code = 1 if demo.failed else 0
    if demo.abandoned:
        # The evaluation thread cannot be interrupted (it may be waiting on the engine);
        # the interpreter would wait for it at exit, so leave now.
        say("stopped")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if code == 0:
        say("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
