"""Statistics for the database's query planner.

SQLite keeps none until `ANALYZE` runs. Without them it guesses that `invalidated = 0` is selective, seeks that
index and sorts every match (a temporary B-tree over 95,000 rows for a page of 25 sorted by name) where
walking the sort's own index would stop after 25. The statistics are refreshed after migrations, after
seeding, and at most once per interval after a write to keys (after the response). PostgreSQL's autovacuum
keeps its own statistics.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from apikeys.infra import caching
from apikeys.models import ApiKey


def refresh_statistics() -> None:
    """ANALYZE the keys table, all of it: a sample (`analysis_limit`) stops counting at its size, so two
    values in 100,000 rows look like 2,000 each, which is the very mistake this prevents (0.2 s at 100,000)."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(ApiKey._meta.db_table)}")


def refresh_statistics_if_due() -> None:
    """On SQLite, at most once per interval, whichever process or worker asks first."""
    if connection.vendor == "sqlite" and caching.claim(
        caching.STATISTICS_DUE, settings.APIKEYS_STATISTICS_INTERVAL_SECONDS
    ):
        refresh_statistics()


def has_statistics() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return False
        cursor.execute("SELECT 1 FROM sqlite_stat1 WHERE tbl = %s", [ApiKey._meta.db_table])
        return cursor.fetchone() is not None


def refresh_after_migrate(using: str, plan: list | None = None, **kwargs) -> None:
    """post_migrate on SQLite: after migrations that ran (indexes may have changed), or when the keys table
    has never been analyzed. A `migrate` with nothing to do costs nothing."""
    if using == connection.alias and connection.vendor == "sqlite" and (plan or not has_statistics()):
        refresh_statistics()
