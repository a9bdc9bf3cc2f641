"""Figure 4: invalidating 10,000 keys in one request, on a copy of the 100,000-key estate.

Two ways in: the API (`DELETE /_security/api_key` with 10,000 ids) and the console's "Select all matching"
(`POST /api-keys/delete/` with `all=1` and a search matching 10,000 keys). Each runs several times,
alternating, the keys made valid again in between. The retention purge that the first invalidation of an
hour triggers is run, and timed, beforehand, so that every timed run does the same work.
"""

from __future__ import annotations

import base64
import json
import statistics
import time
from collections.abc import Callable

from django.db.models import Value
from django.db.models.functions import Concat
from django.test import Client

from apikeys import services
from apikeys.models import ApiKey, User
from benchmarks.fixtures import ADMIN_PASSWORD, ADMIN_USERNAME, LARGE
from benchmarks.measure import Outcome, backend_label, heading, note, record, table

COUNT = 10_000
TARGET_SECONDS = 2.0
RUNS = 3
# A search for this matches exactly the keys under test: no seeded name or owner contains it.
MARK = "retire-"
CHUNK = 500


class UnexpectedAnswer(RuntimeError):
    pass


def mark_keys() -> list[str]:
    ids = list(ApiKey.objects.active().filter(managed=False).order_by("id").values_list("id", flat=True)[:COUNT])
    for start in range(0, len(ids), CHUNK):
        ApiKey.objects.filter(pk__in=ids[start : start + CHUNK]).update(name=Concat(Value(MARK), "name"))
    return ids


def make_valid_again() -> None:
    ApiKey.objects.filter(name__startswith=MARK).update(invalidated=False, invalidation=None)


def invalidated_count() -> int:
    return ApiKey.objects.filter(name__startswith=MARK, invalidated=True).count()


def main() -> None:
    backend = backend_label()
    admin = User.objects.get(username=ADMIN_USERNAME)
    basic = "Basic " + base64.b64encode(f"{ADMIN_USERNAME}:{ADMIN_PASSWORD}".encode()).decode()
    api = Client(HTTP_HOST="127.0.0.1")
    console = Client(HTTP_HOST="127.0.0.1")
    console.force_login(admin)
    if api.get("/_security/_authenticate", HTTP_AUTHORIZATION=basic).status_code != 200:
        raise UnexpectedAnswer("the admin cannot authenticate")  # also warms the verified-password cache
    started = time.perf_counter()
    purged = services.purge_if_due()
    purge_seconds = time.perf_counter() - started
    ids = mark_keys()
    if len(ids) != COUNT:
        raise UnexpectedAnswer(f"only {len(ids)} active keys to invalidate")
    body = json.dumps({"ids": ids})

    def through_api() -> None:
        response = api.generic("DELETE", "/_security/api_key", body, "application/json", HTTP_AUTHORIZATION=basic)
        if response.status_code != 200 or len(response.json()["invalidated_api_keys"]) != COUNT:
            raise UnexpectedAnswer(f"DELETE /_security/api_key answered {response.status_code}")

    def through_console() -> None:
        response = console.post("/api-keys/delete/", {"all": "1", "q": MARK})
        if response.status_code != 302:
            raise UnexpectedAnswer(f"POST /api-keys/delete/ answered {response.status_code}")

    cases: dict[str, Callable[[], None]] = {
        f"API: DELETE /_security/api_key, {COUNT:,} ids": through_api,
        f'console: "Select all matching" q={MARK} ({COUNT:,} keys)': through_console,
    }
    runs: dict[str, list[float]] = {label: [] for label in cases}
    for round_number in range(RUNS):
        order = list(cases.items()) if round_number % 2 == 0 else list(reversed(cases.items()))
        for label, invalidate in order:
            make_valid_again()
            begin = time.perf_counter()
            invalidate()
            runs[label].append(time.perf_counter() - begin)
            if invalidated_count() != COUNT:
                raise UnexpectedAnswer(f"{label} left keys valid")
    rows = []
    for label, seconds in runs.items():
        median = statistics.median(seconds)
        outcome = record(Outcome("4", backend, label, median, TARGET_SECONDS, "s"))
        runs_text = ", ".join(f"{s:.2f}" for s in seconds)
        rows.append([label, f"{median:.2f}", runs_text, f"≤ {TARGET_SECONDS:g} s", outcome.verdict])
    heading(f"Figure 4 — invalidating {COUNT:,} keys in one request, {LARGE:,}-key estate ({backend})")
    table(["case", "median s", "runs (s)", "target", "result"], rows)
    note(
        f"Before the timed runs: the hourly retention purge deleted {purged:,} keys in {purge_seconds:.2f} s "
        "(it runs once an hour, after the first invalidation of that hour commits)."
    )
