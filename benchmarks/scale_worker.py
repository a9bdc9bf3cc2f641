"""The Django side of figure 3: one estate (the database DATABASE_URL names) in one process, answering the
controller in `benchmarks.scale` one JSON line at a time, so that each estate keeps its own connections and
its own cache, as a deployment of that size would.

Commands (stdin) and answers (the original stdout; everything else the app prints goes to stderr):
    {"op": "describe"}                            -> {"deep_page": 3799, "cursor": [millis, id]}
    {"op": "queries", "request": R}               -> {"queries": 6}  (counted with the cache empty)
    {"op": "time", "request": R, "cold": false}   -> {"seconds": 0.012}
    {"op": "versus_authenticate"}                 -> {"list": s, "authenticate": s, "ratio": r, "rounds": n}
where R is {"path": ..., "body": null or a query API body}. "cold" empties the cache first (untimed).
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import time
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apikeys import services
from apikeys.durations import epoch_millis
from apikeys.models import ApiKey, AuditEvent, User
from apikeys.principals import Principal
from benchmarks.fixtures import ADMIN_PASSWORD, ADMIN_USERNAME
from benchmarks.measure import side_by_side, timed

LIST = "/api-keys/"
AUTHENTICATE = "/_security/_authenticate"
READER = {"reader": {"indices": [{"names": ["books"], "privileges": ["read"]}]}}
OPS = {"describe", "queries", "time", "versus_authenticate"}
PAGE_OF = re.compile(rb"Page ([\d,]+) of ([\d,]+)")


class UnexpectedAnswer(RuntimeError):
    pass


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
