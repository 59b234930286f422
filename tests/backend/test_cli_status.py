"""``podium`` finds a demo on this machine by itself, and ``podium status`` says what it uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backend.cli import app
from backend.cli.instance import Instance, adopt_instance, find_instance, write_instance
from backend.config import get_settings


def _instance(root: Path, *, api_url: str = "http://127.0.0.1:9") -> Instance:
    (root / "secret_key").write_text("pepper-of-the-demo\n")
    return Instance(
        kind="demo",
        api_url=api_url,
        database_url=f"sqlite:///{root / 'podium.sqlite3'}",
        data_root=str(root),
        secret_key_file=str(root / "secret_key"),
        job_backend="local",
    )


@pytest.fixture
def demo_root(tmp_path: Path) -> Path:
    root = tmp_path / "checkout" / ".podium"
    root.mkdir(parents=True)
    write_instance(root, _instance(root))
    return root


def test_found_from_the_checkout_or_below_it(demo_root: Path) -> None:
    below = demo_root.parent / "docs" / "deeper"
    below.mkdir(parents=True)
    env: dict[str, str] = {}
    assert adopt_instance(env, below) == demo_root / "instance.json"
    assert env == {
        "PODIUM_DATABASE_URL": f"sqlite:///{demo_root / 'podium.sqlite3'}",
        "PODIUM_DATA_ROOT": str(demo_root),
        "PODIUM_JOB_BACKEND": "local",
        "PODIUM_SECRET_KEY": "pepper-of-the-demo",
    }
    assert (demo_root / "instance.json").stat().st_mode & 0o777 == 0o600


def test_variables_win_and_a_database_url_turns_it_off(demo_root: Path, tmp_path: Path) -> None:
    env = {"PODIUM_SECRET_KEY": "mine", "PODIUM_JOB_BACKEND": "celery"}
    adopt_instance(env, demo_root.parent)
    assert env["PODIUM_SECRET_KEY"] == "mine"
    assert env["PODIUM_JOB_BACKEND"] == "celery"
    assert find_instance({"PODIUM_DATABASE_URL": "sqlite://"}, demo_root.parent) is None
    # PODIUM_DATA_ROOT names the data root to look in; nothing there, nothing adopted.
    assert find_instance({"PODIUM_DATA_ROOT": str(tmp_path)}, demo_root.parent) is None
    assert find_instance({"PODIUM_DATA_ROOT": str(demo_root)}, tmp_path) is not None
    assert adopt_instance({}, tmp_path) is None  # no .podium above tmp_path
    (demo_root / "instance.json").write_text("{not json")
    assert adopt_instance({}, demo_root.parent) is None


class _Ready(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "ready"}).encode()
        self.send_response(200 if self.path == "/readyz" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ready)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def adopted(demo_root: Path, api_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    write_instance(demo_root, _instance(demo_root, api_url=api_url))
    for name in (
        "PODIUM_DATABASE_URL",
        "PODIUM_DATA_ROOT",
        "PODIUM_SECRET_KEY",
        "PODIUM_JOB_BACKEND",
    ):
        monkeypatch.delenv(name, raising=False)
    adopt_instance(os.environ, demo_root.parent)
    get_settings.cache_clear()
    yield demo_root
    get_settings.cache_clear()


def test_status_names_the_demo_database_data_root_broker_and_api(
    adopted: Path, api_url: str
) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["status"])
    assert missing.exit_code == 1
    assert f"no database file at {adopted / 'podium.sqlite3'}" in missing.output
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    lines: dict[str, str] = {}
    for line in result.output.splitlines():
        name, value = line.split("  ", 1)
        lines[name] = value.strip()
    assert lines["settings"].startswith(f"from {adopted / 'instance.json'} (demo;")
    assert "schema at head" in lines["database"]
    assert lines["data root"] == str(adopted)
    assert lines["broker"].startswith("none: jobs run in the demo's process")
    assert lines["API"] == f"{api_url} answers: ready"


def test_status_hides_passwords_and_says_what_does_not_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("PODIUM_DATABASE_URL", "postgresql+psycopg://podium:s3cret@127.0.0.1:9/x")
    monkeypatch.setenv("PODIUM_JOB_BACKEND", "celery")
    monkeypatch.setenv("PODIUM_BROKER_URL", "redis://:hunter2@127.0.0.1:9/0")
    monkeypatch.setenv("PODIUM_PUBLIC_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["status"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "s3cret" not in result.output
    assert "hunter2" not in result.output
    assert "podium:***@127.0.0.1:9" in result.output
    assert "redis://:***@127.0.0.1:9/0 (" in result.output
    assert "from the environment (PODIUM_* variables)" in result.output
    assert "http://127.0.0.1:9 does not answer (ConnectError)" in result.output


def test_the_console_script_adopts_the_demo_from_its_working_directory(demo_root: Path) -> None:
    # The entry point itself (not CliRunner): no PODIUM_* variable, run inside the checkout.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(demo_root.parent)}
    result = subprocess.run(
        [sys.executable, "-c", "from backend.cli import main; main()", "status"],
        cwd=demo_root.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert f"data root  {demo_root}" in result.stdout, result.stderr
    assert f"from {demo_root / 'instance.json'} (demo;" in result.stdout
