"""Fixtures shared by every test package: the real services the suite talks to.

``scripts/test`` starts PostgreSQL, Redis and a Docker engine and exports their
addresses (``PODIUM_TEST_*``) together with ``PODIUM_TEST_REQUIRE_SERVICES=1``,
which turns a missing service into a failure instead of a skip. Running pytest
by hand without them skips only the tests that need them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

pytest_plugins: list[str] = [
    "tests.fixtures.database",
    "tests.fixtures.smtp",
    "tests.fixtures.registry",
    "tests.support.engines",
]


def require_env(name: str, what: str) -> str:
    """The value of ``name``, or fail/skip the test with how to get it."""
    value = os.environ.get(name)
    if value:
        return value
    message = f"{what} is not available ({name} unset): run the suite with scripts/test"
    if os.environ.get("PODIUM_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """SQLAlchemy URL of the PostgreSQL server's maintenance database."""
    return require_env("PODIUM_TEST_POSTGRES_URL", "PostgreSQL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Redis URL on the database index reserved for tests (15)."""
    return require_env("PODIUM_TEST_REDIS_URL", "Redis")


@pytest.fixture(scope="session")
def docker_client(host_docker: Any) -> Any:
    """The Docker engine tests run on: the host's (a module may give its tests both
    engines by overriding this fixture, see ``tests/support/engines.py``)."""
    return host_docker


@pytest.fixture(scope="session")
def host_docker() -> Iterator[Any]:
    """A Docker SDK client to the local engine; fails clearly when none answers."""
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:  # the SDK raises several unrelated types here
        if os.environ.get("PODIUM_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(f"no Docker engine answers: {exc}")
        pytest.skip(f"no Docker engine answers ({exc}): run the suite with scripts/test")
    yield client
    client.close()
