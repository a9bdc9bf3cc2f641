"""Prepare one estate in the database DATABASE_URL names: migrate it, and seed it unless it already holds
exactly BENCH_ESTATE_SIZE keys from an earlier run.

Seeding uses the app's own `seed_api_keys`; then the keys named `fleet-…` (one in twelve) become managed, as
Fleet's are, so the type filter has something to find. PostgreSQL is vacuumed and analyzed on every run, as
autovacuum keeps a live database; SQLite is left as the app leaves it (statistics from `migrate` and
`seed_api_keys`, see `apikeys.planner`).
"""

from __future__ import annotations

import io
import os
import time

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection

from apikeys.models import ApiKey, User
from benchmarks.fixtures import ADMIN_PASSWORD, ADMIN_USERNAME, OWNERS, SEED

MANAGED_PREFIX = "fleet-"


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


def vacuum() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def main() -> None:
    size = int(os.environ["BENCH_ESTATE_SIZE"])
    call_command("migrate", interactive=False, verbosity=0)
    if is_ready(size):
        vacuum()
        print(f"  {size:>7,} keys: reused", flush=True)
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
    vacuum()
    print(f"  {size:>7,} keys: seeded in {time.perf_counter() - started:.0f} s", flush=True)
