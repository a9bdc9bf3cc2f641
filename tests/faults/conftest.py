"""Fixtures of the fault tests: a migrated SQLite estate copied afresh for each test, a Redis and a PostgreSQL of
their own, gunicorn on them. Tests skip with a clear message where `redis-server` or `initdb` are missing."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.servers import Gunicorn, Postgres, Redis, _pg_bin, app_env, manage

PASSWORD = "fault-test-password"
USERS_SCRIPT = f"""
from apikeys.models import Role, User
from apikeys.domain.privileges import validate_role_descriptor
Role.objects.create(name="own_keys", descriptor=validate_role_descriptor("own_keys", {{"cluster": ["manage_own_api_key"]}}))
User.objects.create_superuser("admin", "admin@example.com", "{PASSWORD}")
alice = User.objects.create_user("alice", "alice@example.com", "{PASSWORD}")
alice.role_names = ["own_keys"]
alice.save()
"""


def basic(username: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()


def needs(command: str) -> None:
    try:
        if command in ("initdb", "pg_ctl"):
            _pg_bin(command)
        elif shutil.which(command) is None:
            raise FileNotFoundError(command)
    except FileNotFoundError:
        pytest.skip(f"fault test skipped: `{command}` is not installed on this machine (CI has it)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite database holding the users (made once per run, copied for each test)."""
    path = tmp_path_factory.mktemp("faults-template") / "db.sqlite3"
    env = app_env(f"sqlite:///{path}")
    manage(env, "migrate", "-v", "0")
    manage(env, "shell", "-c", USERS_SCRIPT)
    manage(
        env,
        "shell",
        "-c",
        "from django.db import connection; connection.cursor().execute('PRAGMA wal_checkpoint(TRUNCATE)')",
    )
    return path


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path) -> str:
    path = tmp_path / "db.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def redis() -> Iterator[Redis]:
    needs("redis-server")
    server = Redis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    needs("initdb")
    needs("pg_ctl")
    server = Postgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def postgres_url(postgres, request) -> str:
    url = postgres.create_database("faults_" + request.node.name.lower().replace("-", "_")[:40])
    env = app_env(url)
    manage(env, "migrate", "-v", "0")
    manage(env, "shell", "-c", USERS_SCRIPT)
    return url


@pytest.fixture
def servers(tmp_path) -> Iterator[list[Gunicorn]]:
    """Every gunicorn a test starts (append to it): all stopped at the end, whatever happened."""
    started: list[Gunicorn] = []
    try:
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def start_app(servers, tmp_path):
    def start(database_url: str, redis_url: str | None = None, **extra: str) -> Gunicorn:
        server = Gunicorn(app_env(database_url, redis_url, **extra), log=tmp_path / f"gunicorn-{len(servers)}.log")
        servers.append(server)
        server.start()
        return server

    return start


FIGURES = Path(__file__).resolve().parents[2] / "test-results" / "fault-figures.json"


@pytest.fixture(scope="session")
def _all_figures() -> Iterator[dict[str, dict]]:
    collected: dict[str, dict] = {}
    yield collected
    if collected:
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        FIGURES.write_text(json.dumps(collected, indent=2) + "\n")


@pytest.fixture
def figures(_all_figures, request) -> dict:
    """What a fault test measured (requests during the fault, 5xx, wrong answers, seconds to recover):
    written to test-results/fault-figures.json for SECURITY.md's table."""
    mine: dict = {}
    _all_figures[request.node.name] = mine
    return mine
