"""Prepare one estate in the database DATABASE_URL names: migrate it, and seed it unless it already holds
exactly BENCH_ESTATE_SIZE keys from an earlier run.

Seeding uses the app's own `seed_api_keys`; then the keys named `fleet-…` (one in twelve) become managed, as
Fleet's are, so the type filter has something to find. PostgreSQL is vacuumed and analyzed on every run, as
autovacuum keeps a live database; SQLite is left as the app leaves it (statistics from `migrate` and
`seed_api_keys`, see `apikeys.infra.planner`).

The newest USAGE_KEYS keys of each estate get usage counts (`KeyUsage`, `KeyUsageDay`) over the list's 7-day
sparkline window, so the list's first pages (up to 250 rows, figure 3c) draw sparklines from real rows. The same number
in both estates, by rank: a filter's first page (its newest keys) then has about as many keys with counts at
1,000 keys as at 100,000, so figure 3 compares like with like. The window moves with the clock: the counts
are written again on the first run of each UTC day.
"""

from __future__ import annotations

import io
import os
import random
import time
from datetime import UTC, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection

from apikeys.models import ApiKey, KeyUsage, KeyUsageDay, User
from apikeys.records import usage
from benchmarks.fixtures import ADMIN_PASSWORD, ADMIN_USERNAME, OWNERS, SEED

MANAGED_PREFIX = "fleet-"
USAGE_KEYS = 250
USAGE_DAYS = 7  # the list's sparkline (apikeys.readmodels.listing.SPARKLINE_DAYS)
# Of three used keys, one was used every hour, one every other hour, one every eighth hour.
USAGE_EVERY = (1, 2, 8)


def is_ready(size: int) -> bool:
    return (
        ApiKey.objects.count() == size
        and ApiKey.objects.filter(managed=True).exists()
        and User.objects.filter(username__in=[ADMIN_USERNAME, f"owner-{OWNERS:04d}"]).count() == 2
    )


def make_fleet_keys_managed() -> None:
    managed = []
    for key in ApiKey.objects.filter(name__startswith=MANAGED_PREFIX).only("id", "metadata").iterator():
        key.managed = True
        key.metadata = {**key.metadata, "managed": True}
        managed.append(key)
    ApiKey.objects.bulk_update(managed, ["managed", "metadata"], batch_size=500)


def seed_usage() -> str:
    """Counts for the newest keys over the sparkline's window (today and the 6 days before, whole UTC days, up
    to this hour), unless today's run already wrote them: the newest key then has a count at the window's
    first hour (it is used every hour), and the next key after the used ones has none."""
    now = datetime.now(UTC)
    first = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=USAGE_DAYS - 1)
    newest = list(ApiKey.objects.order_by("-creation", "id").values_list("id", flat=True)[: USAGE_KEYS + 1])
    used, unused = newest[:USAGE_KEYS], newest[USAGE_KEYS:]
    seeded = KeyUsage.objects.filter(key_id=used[0]).order_by("hour").values_list("hour", flat=True).first()
    if seeded == first and not KeyUsage.objects.filter(key_id__in=unused).exists():
        return "reused"
    started = time.perf_counter()
    rng = random.Random(SEED)
    hours = [first + timedelta(hours=h) for h in range(int((now - first).total_seconds()) // 3600 + 1)]
    rows = {}
    for i, key_id in enumerate(used):
        every = USAGE_EVERY[i % len(USAGE_EVERY)]
        for h, hour in enumerate(hours):
            if h % every:
                continue
            seconds = int(hour.timestamp())
            rows[(key_id, seconds, usage.SUCCESS)] = rng.randint(1, 400)
            if rng.random() < 0.1:
                rows[(key_id, seconds, usage.Refusal.WRONG_SECRET)] = rng.randint(1, 5)
    KeyUsage.objects.all().delete()  # yesterday's window, and what earlier runs' processes flushed
    KeyUsageDay.objects.all().delete()
    usage.store(rows)  # the hours and their days, as a flush writes them
    return f"{len(rows):,} rows for {len(used):,} keys written in {time.perf_counter() - started:.0f} s"


def vacuum() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def main() -> None:
    size = int(os.environ["BENCH_ESTATE_SIZE"])
    call_command("migrate", interactive=False, verbosity=0)
    if is_ready(size):
        used = seed_usage()
        vacuum()
        print(f"  {size:>7,} keys: reused; usage counts: {used}", flush=True)
        return
    started = time.perf_counter()
    call_command("flush", interactive=False, verbosity=0)
    User.objects.create(
        username=ADMIN_USERNAME,
        is_superuser=True,
        is_staff=True,
        password=make_password(ADMIN_PASSWORD),
    )
    call_command("seed_api_keys", count=size, owners=OWNERS, seed=SEED, stdout=io.StringIO())
    make_fleet_keys_managed()
    seeded = time.perf_counter() - started
    used = seed_usage()
    vacuum()
    print(f"  {size:>7,} keys: seeded in {seeded:.0f} s; usage counts: {used}", flush=True)
