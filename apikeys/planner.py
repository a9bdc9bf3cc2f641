"""Statistics for the database's query planner.

SQLite keeps none until `ANALYZE` runs. Without them it guesses that `invalidated = 0` is selective, seeks that
index and sorts every match (a temporary B-tree over 95,000 rows for a page of 25 sorted by name) where
walking the sort's own index would stop after 25. The statistics are refreshed after migrations, after
seeding, and at most once per interval after a write to keys (after the response). PostgreSQL's autovacuum
keeps its own statistics.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from .models import ApiKey

# Rows sampled per index: enough for the planner's choices, and a few milliseconds at any size.
SQLITE_ANALYSIS_LIMIT = 2000


def refresh_statistics(sample: bool = True) -> None:
    """ANALYZE the keys table: a sample of each index (quick), or all of it after a bulk load."""
    table = connection.ops.quote_name(ApiKey._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT if sample else 0}")
        cursor.execute(f"ANALYZE {table}")


def refresh_statistics_if_due() -> None:
    """On SQLite, at most once per interval, whichever process or worker asks first."""
    if connection.vendor == "sqlite" and cache.add(
        "apikeys:statistics-due", 1, timeout=settings.APIKEYS_STATISTICS_INTERVAL_SECONDS
    ):
        refresh_statistics()


def refresh_after_migrate(using: str, **kwargs) -> None:
    """post_migrate: a database just created or changed starts with statistics that match its indexes."""
    if using == connection.alias and connection.vendor == "sqlite":
        refresh_statistics()
