"""The Django side of figure 3: one estate (the database DATABASE_URL names) in one process, answering the
controller in `benchmarks.scale` one JSON line at a time, so that each estate keeps its own connections and
its own cache, as a deployment of that size would.

Commands (stdin) and answers (the original stdout; everything else the app prints goes to stderr):
    {"op": "describe"}                            -> {"deep_page": 3799, "cursor": [millis, id]}
    {"op": "queries", "request": R}               -> {"queries": 6}  (counted with the cache empty)
    {"op": "time", "request": R, "cold": false}   -> {"seconds": 0.012}
    {"op": "versus_authenticate"}                 -> {"list": s, "authenticate": s, "ratio": r, "rounds": n}
    {"op": "sparklines", "per_page": [25, 100]}   -> {"pages": [{"per_page": 25, "with": s, "without": s, ...}]}
where R is {"path": ..., "body": null or a query API body}. "cold" empties the cache first (untimed).
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apikeys import services
from apikeys.access.principals import Principal
from apikeys.domain.durations import epoch_millis
from apikeys.models import ApiKey, AuditEvent, User
from apikeys.readmodels import listing
from apikeys.records import usage
from benchmarks.fixtures import ADMIN_PASSWORD, ADMIN_USERNAME
from benchmarks.measure import side_by_side, timed

LIST = "/api-keys/"
AUTHENTICATE = "/_security/_authenticate"
READER = {"reader": {"indices": [{"names": ["books"], "privileges": ["read"]}]}}
OPS = {"describe", "queries", "time", "versus_authenticate", "sparklines"}
PAGE_OF = re.compile(rb"Page ([\d,]+) of ([\d,]+)")
SHOWING = re.compile(rb"Showing ([\d,]+)\D+?([\d,]+) of")
SPARKLINE = re.compile(rb'aria-label="Requests in the last \d+ days: ([\d, ]+)"')


class UnexpectedAnswer(RuntimeError):
    pass


@contextmanager
def page_sizes(sizes: list[int]) -> Iterator[None]:
    """Let the list serve `sizes` rows per page besides its own choices (25, 50, 100), in this process only:
    `KeyListing` reads `listing.PER_PAGE_CHOICES` when it checks `per_page`, so a larger page goes through the
    same view, table and template as the console's own."""
    offered = listing.PER_PAGE_CHOICES
    listing.PER_PAGE_CHOICES = sorted({*offered, *sizes})
    try:
        yield
    finally:
        listing.PER_PAGE_CHOICES = offered


@contextmanager
def drawing_sparklines(drawn: bool) -> Iterator[None]:
    """The list as it is (drawn), or with `usage.daily_totals` answering {} (no statement, no sparkline)."""
    real = usage.daily_totals
    if not drawn:
        usage.daily_totals = lambda key_ids, days, now=None: {}
    try:
        yield
    finally:
        usage.daily_totals = real


class Estate:
    """This process's estate: a console session and query API credentials for its superuser."""

    def __init__(self) -> None:
        self.client = Client(HTTP_HOST="127.0.0.1")
        self.client.force_login(User.objects.get(username=ADMIN_USERNAME))
        token = base64.b64encode(f"{ADMIN_USERNAME}:{ADMIN_PASSWORD}".encode()).decode()
        self.basic = f"Basic {token}"

    def fetch(self, request: dict[str, Any]) -> bytes:
        path, body = request["path"], request.get("body")
        if body is None:
            response = self.client.get(path)
        else:
            response = self.client.post(path, json.dumps(body), "application/json", HTTP_AUTHORIZATION=self.basic)
        if response.status_code != 200:
            raise UnexpectedAnswer(f"{path} answered {response.status_code}: {response.content[:300]!r}")
        if body is not None and response.json()["count"] != body["size"]:
            raise UnexpectedAnswer(f"{path} {body} found fewer than {body['size']} keys")
        return response.content

    def describe(self) -> dict[str, Any]:
        """The last-but-one page of the default listing (the app's own page count, read from the page) and
        `search_after` values for the middle of the estate in creation order."""
        match = PAGE_OF.search(self.fetch({"path": LIST}))
        if match is None:
            raise UnexpectedAnswer(f"{LIST} shows no 'Page N of M'")
        total = ApiKey.objects.count()
        creation, key_id = ApiKey.objects.order_by("-creation", "id").values_list("creation", "id")[total // 2]
        return {
            "deep_page": max(1, int(match.group(2).replace(b",", b"")) - 1),
            "cursor": [epoch_millis(creation), key_id],
        }

    def queries(self, request: dict[str, Any]) -> dict[str, Any]:
        cache.clear()  # every statement the request can need, whichever estate remembered what
        with CaptureQueriesContext(connection) as captured:
            self.fetch(request)
        return {"queries": len(captured)}

    def versus_authenticate(self, budget_seconds: float = 2.0) -> dict[str, Any]:
        """The first list page against a warm `/_security/_authenticate` with an API key, side by side in this
        process: the page's cost in units of the cheapest JSON request. The key is an ordinary one (created
        through the service, restricted to reading one index); it and its audit event are deleted afterwards,
        so the kept estate stays as seeded."""
        admin = User.objects.get(username=ADMIN_USERNAME)
        created = services.create_api_key(
            Principal.for_user(admin), {"name": "bench-versus", "role_descriptors": READER}
        )
        api = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"ApiKey {created.encoded}")

        def authenticate() -> None:
            response = api.get(AUTHENTICATE)
            if response.status_code != 200:
                raise UnexpectedAnswer(f"{AUTHENTICATE} answered {response.status_code}: {response.content[:300]!r}")

        try:
            measured = side_by_side(
                timed(lambda: self.fetch({"path": LIST})), timed(authenticate), budget_seconds=budget_seconds
            )
        finally:
            AuditEvent.objects.filter(key_id=created.key.id).delete()
            created.key.delete()
            cache.clear()  # the counts remembered while the extra key existed
        return {
            "list": measured.a_median,
            "authenticate": measured.b_median,
            "ratio": measured.ratio,
            "rounds": measured.rounds,
        }

    def list_page(self, per_page: int, drawn: bool) -> bytes:
        """The first list page of `per_page` rows, checked: that many rows, and a sparkline on each or on none."""
        with drawing_sparklines(drawn):
            content = self.fetch({"path": f"{LIST}?per_page={per_page}"})
        shown = SHOWING.search(content)
        rows = int(shown.group(2).replace(b",", b"")) if shown else 0
        drawn_rows = len(SPARKLINE.findall(content))
        if rows != per_page or drawn_rows != (rows if drawn else 0):
            raise UnexpectedAnswer(f"{LIST}?per_page={per_page}: {rows} rows, {drawn_rows} sparklines")
        return content

    def sparklines(self, per_page: list[int], budget_seconds: float = 2.0) -> dict[str, Any]:
        """For each page size, the first list page with sparklines against without: SQL statements (cache
        empty, as `queries` counts them) and time (counts remembered), side by side in this process."""
        pages = []
        with page_sizes(per_page):
            for size in per_page:
                statements = {}
                for drawn in (True, False):
                    cache.clear()
                    with CaptureQueriesContext(connection) as captured:
                        self.list_page(size, drawn)
                    statements[drawn] = len(captured)
                days = SPARKLINE.findall(self.list_page(size, True))
                measured = side_by_side(
                    timed(lambda size=size: self.list_page(size, True)),
                    timed(lambda size=size: self.list_page(size, False)),
                    budget_seconds=budget_seconds,
                )
                pages.append(
                    {
                        "per_page": size,
                        "with": measured.a_median,
                        "without": measured.b_median,
                        "ratio": measured.ratio,
                        "rounds": measured.rounds,
                        "statements_with": statements[True],
                        "statements_without": statements[False],
                        "rows_with_usage": sum(1 for d in days if d.strip(b"0, ")),
                    }
                )
        return {"pages": pages}

    def time(self, request: dict[str, Any], cold: bool = False) -> dict[str, Any]:
        if cold:
            cache.clear()
        begin = time.perf_counter()
        self.fetch(request)
        return {"seconds": time.perf_counter() - begin}


def main() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # the protocol owns the real stdout
    estate = Estate()
    for line in sys.stdin:
        command = json.loads(line)
        op = command.pop("op")
        try:
            if op not in OPS:
                raise ValueError(f"unknown op {op!r}")
            answer = getattr(estate, op)(**command)
        except Exception as exc:  # the controller reports it and stops
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
