"""Where one request's time goes: Python (cProfile) and SQL (each statement timed, the slowest explained).

    DATABASE_URL=sqlite:///benchmarks/.data/keys-100000.sqlite3 \\
        .venv/bin/python -m benchmarks.launch profile_request GET '/api-keys/?q=billing' [--cold] [--body JSON]

Console paths are requested as the estate's superuser through a session, `/_security` paths with its Basic
credentials or with `--authorization` (e.g. `"ApiKey <encoded>"`), the way a server calls the app (per-request
connection handling included, which Django's test client leaves out). `--cold` empties the cache before every
request. Besides SQL, round trips to Redis are counted (a command, or a pipeline, each one). Only reads are safe on a kept estate: profile
writes on a copy. EXPLAIN is `QUERY PLAN` on SQLite and `(ANALYZE, BUFFERS)` on PostgreSQL.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import json
import pstats
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.client
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import Client

from apikeys.models import User
from benchmarks.fixtures import ADMIN_PASSWORD, ADMIN_USERNAME
from benchmarks.measure import WsgiCaller


@dataclass
class Statement:
    sql: str
    params: Any
    seconds: float


def request_maker(method: str, path: str, body: str | None, authorization: str | None) -> Callable[[], None]:
    if path.startswith("/_security"):
        if authorization is None:
            token = base64.b64encode(f"{ADMIN_USERNAME}:{ADMIN_PASSWORD}".encode()).decode()
            authorization = f"Basic {token}"
        call = WsgiCaller(WSGIHandler())

        def make() -> None:
            status, content = call(method, path, {"Authorization": authorization}, (body or "").encode())
            if status >= 400:
                raise RuntimeError(f"{method} {path} answered {status}: {content[:300]!r}")

        return make
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=ADMIN_USERNAME))

    def make_console() -> None:
        response = client.generic(method, path, body or "", "application/json")
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} answered {response.status_code}: {response.content[:300]!r}")

    return make_console


def count_redis_trips(trips: list[int]) -> None:
    """Add one to `trips[0]` for every command sent to Redis and every pipeline (one round trip each)."""
    for owner, name in ((redis.client.Redis, "execute_command"), (redis.client.Pipeline, "execute")):
        original = getattr(owner, name)

        def counted(self: Any, *args: Any, _original: Callable = original, **kwargs: Any) -> Any:
            trips[0] += 1
            return _original(self, *args, **kwargs)

        setattr(owner, name, counted)


def explain(statement: Statement) -> list[str]:
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    with connection.cursor() as cursor:
        cursor.execute(prefix + statement.sql, statement.params)
        return [" ".join(str(c) for c in row) for row in cursor.fetchall()]


def main() -> None:
    parser = argparse.ArgumentParser(prog="profile_request", description=__doc__.split("\n\n")[0])
    parser.add_argument("method")
    parser.add_argument("path")
    parser.add_argument("--body", help="a JSON request body")
    parser.add_argument("--cold", action="store_true", help="empty the cache before every request")
    parser.add_argument("--authorization", help="the Authorization header of `/_security` requests")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(sys.argv[2:])
    if args.body:
        json.loads(args.body)
    make = request_maker(args.method.upper(), args.path, args.body, args.authorization)
    make()  # warm: caches, connections, the password check
    redis_trips = [0]
    count_redis_trips(redis_trips)

    statements: list[Statement] = []

    def timing(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict) -> Any:
        begin = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append(Statement(sql, params, time.perf_counter() - begin))

    profiler = cProfile.Profile()
    wall = 0.0
    with connection.execute_wrapper(timing):
        for _ in range(args.repeat):
            if args.cold:
                cache.clear()
            begin = time.perf_counter()
            profiler.enable()
            make()
            profiler.disable()
            wall += time.perf_counter() - begin
    per_request = wall / args.repeat
    sql_seconds = sum(s.seconds for s in statements) / args.repeat
    print(f"{args.method.upper()} {args.path} on {connection.vendor} ({connection.settings_dict['NAME']})")
    print(f"{per_request * 1000:.1f} ms a request under the profiler; SQL {sql_seconds * 1000:.1f} ms in ", end="")
    print(f"{len(statements) // args.repeat} statements; Redis: {redis_trips[0] / args.repeat:g} round trips\n")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
    print("Slowest statements (one request's share, averaged):\n")
    by_text: dict[str, list[Statement]] = {}
    for statement in statements:
        by_text.setdefault(statement.sql, []).append(statement)
    slowest = sorted(by_text.values(), key=lambda group: -sum(s.seconds for s in group))[:5]
    for group in slowest:
        seconds = sum(s.seconds for s in group) / args.repeat
        print(f"--- {seconds * 1000:.1f} ms, {len(group) // args.repeat}× a request\n{group[0].sql}\n")
        for line in explain(group[0]):
            print(f"    {line}")
        print()
