"""Where the estates live, and the throwaway databases the figures write to: SQLite files or PostgreSQL.

The two estates (1,000 and 100,000 keys) are seeded once and kept: SQLite files under `benchmarks/.data/`,
PostgreSQL databases `<name>_bench_1000` and `<name>_bench_100000` beside the one DATABASE_URL names. Figures
that write get a copy (an SQLite backup, a PostgreSQL template copy), dropped at the end of the run.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DATA_DIR = Path(__file__).resolve().parent / ".data"
LOG_DIR = DATA_DIR / "logs"  # what the app and gunicorn log during a run, one file per figure and backend


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class SqliteBackend:
    name = "SQLite"

    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.scratch.mkdir(parents=True, exist_ok=True)
        DATA_DIR.mkdir(exist_ok=True)

    @staticmethod
    def version() -> str:
        return sqlite3.sqlite_version

    def database_name(self, size: int) -> str:
        return str(DATA_DIR / f"keys-{size}.sqlite3")

    def estate_url(self, size: int) -> str:
        return f"sqlite:///{self.database_name(size)}"

    def throwaway_url(self, label: str) -> str:
        path = self.scratch / f"{label}.sqlite3"
        for leftover in self.scratch.glob(f"{label}.sqlite3*"):
            leftover.unlink()
        return f"sqlite:///{path}"

    def copy_url(self, size: int, label: str) -> str:
        url = self.throwaway_url(label)
        source = sqlite3.connect(self.database_name(size))
        copy = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return url

    def clean_up(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


class PostgresBackend:
    name = "PostgreSQL"

    def __init__(self, url: str):
        self.parts = urlsplit(url)
        self.base = self.parts.path.lstrip("/") or "apikeys"
        self.throwaways: list[str] = []

    @classmethod
    def reachable(cls, url: str) -> PostgresBackend | None:
        parts = urlsplit(url)
        if not answers(parts.hostname or "127.0.0.1", parts.port or 5432):
            return None
        backend = cls(url)
        try:
            backend.version()
        except psycopg.Error:
            return None
        return backend

    def _url(self, database: str) -> str:
        return urlunsplit(self.parts._replace(path=f"/{database}"))

    def _execute(self, statement: sql.Composable) -> list[tuple]:
        with psycopg.connect(self._url("postgres"), autocommit=True) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def version(self) -> str:
        return str(self._execute(sql.SQL("SHOW server_version"))[0][0])

    def database_name(self, size: int) -> str:
        return f"{self.base}_bench_{size}"

    def estate_url(self, size: int) -> str:
        name = self.database_name(size)
        exists = self._execute(sql.SQL("SELECT 1 FROM pg_database WHERE datname = {}").format(sql.Literal(name)))
        if not exists:
            self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self._url(name)

    def _fresh(self, label: str, template: str | None) -> str:
        name = f"{self.base}_bench_{label}"
        self._execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            create = sql.SQL("{} TEMPLATE {}").format(create, sql.Identifier(template))
        self._execute(create)
        self.throwaways.append(name)
        return self._url(name)

    def throwaway_url(self, label: str) -> str:
        return self._fresh(label, None)

    def copy_url(self, size: int, label: str) -> str:
        return self._fresh(label, self.database_name(size))

    def clean_up(self) -> None:
        for name in self.throwaways:
            self._execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        self.throwaways.clear()
